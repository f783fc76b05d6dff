"""Messages that carry many hits: a digest, a rule's cooldown batch, a storm summary.

Hits are grouped by rule, then by story (copies of one story are one entry, with the
other outlets listed). Whole entries are added while they fit under the channel's
limit; what does not fit is counted in a closing "+N more" line, never cut mid-tag.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from alerts.escape import defuse_mentions, escape_html, escape_markdown, html_link, markdown_link
from alerts.render import SUBJECT_PREFIX, Format, Message, html_entry, markdown_entry, message_title, text_entry
from store.views import HitView

HISTORY_HINT = "All of them are in the history: newswatch hits"


def group_by_rule_and_story(hits: Sequence[HitView]) -> dict[str, list[HitView]]:
    """rule -> one hit per story (the first), in the order given."""
    groups: dict[str, list[HitView]] = {}
    seen: set[tuple[str, int]] = set()
    for hit in hits:
        key = (hit.rule, hit.story_id if hit.story_id is not None else -hit.hit_id)
        if key not in seen:
            seen.add(key)
            groups.setdefault(hit.rule, []).append(hit)
    return groups


def render_group(title: str, intro: str, hits: Sequence[HitView], body_format: Format, limit: int,
                 *, detailed: bool = True) -> Message:
    """One message holding every hit, grouped; `detailed=False` lists titles only (summaries)."""
    body_format = body_format if body_format in ("html", "text") else "markdown"
    pieces = []
    for rule, entries in group_by_rule_and_story(hits).items():
        pieces.append(_rule_heading(rule, len(entries), body_format))
        pieces.extend(_entry(hit, body_format, detailed) for hit in entries)
    body = fit_pieces(_paragraph(intro, body_format), pieces, limit, body_format)
    return Message(title=message_title(title, body_format), body=body, body_format=body_format)


def _paragraph(text: str, body_format: Format) -> str:
    if body_format == "html":
        return f"<p>{escape_html(text)}</p>"
    return escape_markdown(text) if body_format == "markdown" else defuse_mentions(text)


def _rule_heading(rule: str, count: int, body_format: Format) -> str:
    label = f"{rule} ({count} {'story' if count == 1 else 'stories'})"
    if body_format == "html":
        return f"<h2>Rule: {escape_html(label)}</h2>"
    return f"## Rule: {escape_markdown(label)}" if body_format == "markdown" else f"Rule: {defuse_mentions(label)}"


def _entry(hit: HitView, body_format: Format, detailed: bool) -> str:
    if detailed:
        return {"html": lambda: html_entry(hit, heading="h3"), "markdown": lambda: markdown_entry(hit),
                "text": lambda: text_entry(hit)}[body_format]()
    source = f" ({hit.feed})"
    if body_format == "html":
        return f"<p>{html_link(hit.title or hit.url, hit.url)}{escape_html(source)}</p>"
    if body_format == "markdown":
        return f"- {markdown_link(hit.title or hit.url, hit.url)}{escape_markdown(source)}"
    return defuse_mentions(f"- {hit.title or hit.url}{source} <{hit.url}>")


def fit_pieces(header: str, pieces: list[str], limit: int, body_format: Format) -> str:
    """Header and as many whole pieces as fit under `limit`, then a "+N more" line."""
    separator = "\n" if body_format == "html" else "\n\n"
    body, room = header, limit - 200
    for index, piece in enumerate(pieces):
        if len(body) + len(separator) + len(piece) > room:
            rest = f"+{len(pieces) - index} more entries did not fit. {HISTORY_HINT}"
            return body + separator + _paragraph(rest, body_format)
        body += separator + piece
    return body


def summary_intro(hits: Sequence[HitView]) -> str:
    """'+37 more hits for rule X, +3 more hits for rule Y' (the storm summary's first line)."""
    counts = Counter(hit.rule for hit in hits)
    parts = [f"+{n} more hit{'s' if n != 1 else ''} for rule {rule}" for rule, n in counts.most_common()]
    return ", ".join(parts) + f". Not sent one by one, to spare your attention. {HISTORY_HINT}"


def render_summary(channel: str, hits: Sequence[HitView], body_format: Format, limit: int) -> Message:
    title = f"{SUBJECT_PREFIX} +{len(hits)} more hits this run ({channel})"
    return render_group(title, summary_intro(hits), hits, body_format, limit, detailed=False)


def render_digest(channel: str, hits: Sequence[HitView], body_format: Format, limit: int) -> Message:
    stories = sum(len(entries) for entries in group_by_rule_and_story(hits).values())
    rules = len({hit.rule for hit in hits})
    title = f"{SUBJECT_PREFIX} digest ({channel}): {stories} {'story' if stories == 1 else 'stories'}, " \
            f"{rules} rule{'s' if rules != 1 else ''}"
    intro = f"{len(hits)} hit{'s' if len(hits) != 1 else ''} since the last digest, grouped by rule and story."
    return render_group(title, intro, hits, body_format, limit)


def render_batch(rule: str, hits: Sequence[HitView], body_format: Format, limit: int) -> Message:
    """A rule's hits held by its cooldown, sent together."""
    title = f"{SUBJECT_PREFIX} {rule}: {len(hits)} hits"
    intro = f"{len(hits)} hits for rule {rule}, held by its cooldown and sent together."
    return render_group(title, intro, hits, body_format, limit)
