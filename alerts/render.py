"""Turn a stored hit into the message a person reads, escaped for its format.

Email gets a subject and an HTML body (apprise adds the plain-text part); chat and
webhooks get markdown. Everything that came from the outside (title, feed name,
snippet, terms) is escaped for the target format: no HTML or markdown injection, no
`@everyone`, no CR/LF in a subject. Bodies are cut to the channel's limit.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

from store.views import HitView

Format = Literal["html", "markdown", "text"]
SUBJECT_LIMIT = 200
_MENTION = re.compile(r"@(?=(everyone|here|channel|all)\b)", re.IGNORECASE)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    body_format: Format


def defuse_mentions(text: str) -> str:
    """`@everyone` -> `@\u200beveryone`: shown the same, pings nobody."""
    return _MENTION.sub("@\u200b", text)


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """No CR/LF or control characters (header injection), at most `limit` characters."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_markdown(text: str) -> str:
    return defuse_mentions(_MARKDOWN_SPECIAL.sub(r"\\\1", text))


def escape_html(text: str) -> str:
    return defuse_mentions(html.escape(text, quote=True))


def mark_snippet(snippet: str, marks, escape, before: str, after: str) -> str:
    """Escape the snippet and wrap each marked span in before/after."""
    pieces, position = [], 0
    for start, end in sorted(marks):
        if start < position or end > len(snippet):
            continue
        pieces += [escape(snippet[position:start]), before, escape(snippet[start:end]), after]
        position = end
    pieces.append(escape(snippet[position:]))
    return "".join(pieces)


def alert_subject(hit: HitView) -> str:
    return one_line(f"[newswatch] {hit.rule}: {hit.title or hit.url}")


def render_html(hit: HitView) -> str:
    published = hit.published.strftime("%Y-%m-%d %H:%M UTC") if hit.published else "unknown"
    snippet = mark_snippet(hit.snippet, hit.marks, escape_html, "<mark><b>", "</b></mark>")
    terms = ", ".join(escape_html(t) for t in hit.terms)
    return (
        f"<p><b>Rule:</b> {escape_html(hit.rule)}</p>\n"
        f'<h2><a href="{html.escape(hit.url, quote=True)}">{escape_html(hit.title or hit.url)}</a></h2>\n'
        f"<p><b>Source:</b> {escape_html(hit.feed)} &middot; <b>Published:</b> {published}</p>\n"
        f"<p><b>Matched terms:</b> {terms}</p>\n"
        f"<blockquote>{snippet}</blockquote>\n"
        f"<p><small>{escape_html(hit.url)}</small></p>"
    )


def render_markdown(hit: HitView) -> str:
    published = hit.published.strftime("%Y-%m-%d %H:%M UTC") if hit.published else "unknown"
    snippet = mark_snippet(hit.snippet, hit.marks, escape_markdown, "**", "**")
    terms = ", ".join(escape_markdown(t) for t in hit.terms)
    link = hit.url.replace(")", "%29").replace(" ", "%20")
    return (
        f"**Rule:** {escape_markdown(hit.rule)}\n\n"
        f"**[{escape_markdown(hit.title or hit.url)}]({link})**\n\n"
        f"Source: {escape_markdown(hit.feed)} · Published: {escape_markdown(published)}\n\n"
        f"Matched terms: {terms}\n\n"
        f"> {snippet}"
    )


def render_hit(hit: HitView, body_format: Format, body_limit: int = 32768) -> Message:
    """The message for one hit in the channel's preferred format, cut to `body_limit`."""
    if body_format == "html":
        body = render_html(hit)
    else:
        body = render_markdown(hit)
        body_format = "markdown"
    return Message(title=alert_subject(hit), body=truncate(body, body_limit), body_format=body_format)


def truncate(body: str, limit: int) -> str:
    if len(body) <= limit:
        return body
    return body[: max(limit - 1, 0)] + "…"
