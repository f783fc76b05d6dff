"""Turn a stored hit into the message a person reads, escaped for its format.

Email gets a subject and an HTML body (apprise adds the plain-text alternative part);
chat gets markdown; raw webhooks (json://, form://, xml://) get plain text, with no
markdown escapes, since nothing renders markdown there. Each shows the rule, the title
linked to the article (with the matched terms marked when the rule matched the title),
the source feed, the publication date, the matched terms, the snippet with the terms
marked, and the other outlets that ran the same story. Every title starts with the one
prefix `SUBJECT_PREFIX`, whatever the channel. Outside text is escaped by
`alerts.escape`; bodies are cut to the channel's limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alerts.escape import (
    chat_title,
    defuse_mentions,
    escape_html,
    escape_markdown,
    find_terms,
    html_link,
    mark_snippet,
    markdown_link,
    one_line,
    truncate,
)
from store.views import HitView

Format = Literal["html", "markdown", "text"]
SUBJECT_PREFIX = "[newswatch]"
__all__ = ["Format", "Message", "SUBJECT_PREFIX", "alert_subject", "defuse_mentions", "message_title", "one_line",
           "render_hit", "truncate"]


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    body_format: Format


def alert_subject(hit: HitView) -> str:
    return one_line(defuse_mentions(f"{SUBJECT_PREFIX} {hit.rule}: {hit.title or hit.url}"))


def message_title(text: str, body_format: Format) -> str:
    """One line, no mentions; for chat also without markup (some chats render the title),
    except our own prefix, which reads the same on every channel."""
    if body_format != "markdown":
        return one_line(defuse_mentions(text))
    if text.startswith(SUBJECT_PREFIX + " "):
        return one_line(f"{SUBJECT_PREFIX} {chat_title(text[len(SUBJECT_PREFIX) + 1:])}")
    return chat_title(text)


def title_marks(hit: HitView) -> tuple[tuple[int, int], ...]:
    """Where the matched terms stand in the title, when the rule matched the title."""
    return find_terms(hit.title, hit.terms) if hit.title and "title" in hit.fields else ()


def published_text(hit: HitView) -> str:
    return hit.published.strftime("%Y-%m-%d %H:%M UTC") if hit.published else "unknown"


def html_entry(hit: HitView, heading: str = "h2") -> str:
    """The title link, source, date, terms, snippet and other outlets of one hit, as HTML."""
    snippet = mark_snippet(hit.snippet, hit.marks, escape_html, "<mark><b>", "</b></mark>")
    lines = [
        f"<{heading}>{html_link(hit.title or hit.url, hit.url, title_marks(hit))}</{heading}>",
        f"<p><b>Source:</b> {escape_html(hit.feed)} &middot; <b>Language:</b> {escape_html(hit.language or 'unknown')}"
        f" &middot; <b>Published:</b> {published_text(hit)}</p>",
        f"<p><b>Matched terms:</b> {', '.join(escape_html(t) for t in hit.terms)}</p>",
        f"<blockquote>{snippet}</blockquote>",
    ]
    if hit.also_reported_by:
        outlets = ", ".join(html_link(c.feed, c.url) for c in hit.also_reported_by)
        lines.append(f"<p><b>Also reported by:</b> {outlets}</p>")
    return "\n".join(lines)


def markdown_entry(hit: HitView) -> str:
    snippet = mark_snippet(hit.snippet, hit.marks, escape_markdown, "**", "**")
    lines = [
        f"**{markdown_link(hit.title or hit.url, hit.url, title_marks(hit))}**",
        f"Source: {escape_markdown(hit.feed)} · Language: {escape_markdown(hit.language or 'unknown')}"
        f" · Published: {escape_markdown(published_text(hit))}",
        f"Matched terms: {', '.join(escape_markdown(t) for t in hit.terms)}",
        f"> {snippet}",
    ]
    if hit.also_reported_by:
        lines.append("Also reported by: " + ", ".join(markdown_link(c.feed, c.url) for c in hit.also_reported_by))
    return "\n\n".join(lines)


def text_entry(hit: HitView) -> str:
    """The same as plain text: nothing escaped (no format renders it), mentions defused."""
    lines = [
        one_line(hit.title or hit.url, 1000),
        hit.url,
        f"Source: {hit.feed} · Language: {hit.language or 'unknown'} · Published: {published_text(hit)}",
        f"Matched terms: {', '.join(hit.terms)}",
        hit.snippet,
    ]
    if hit.also_reported_by:
        lines.append("Also reported by: " + ", ".join(f"{c.feed} <{c.url}>" for c in hit.also_reported_by))
    return defuse_mentions("\n".join(lines))


def render_html(hit: HitView) -> str:
    return (f"<p><b>Rule:</b> {escape_html(hit.rule)}</p>\n{html_entry(hit)}\n"
            f"<p><small>{escape_html(hit.url)}</small></p>")


def render_markdown(hit: HitView) -> str:
    return f"**Rule:** {escape_markdown(hit.rule)}\n\n{markdown_entry(hit)}"


def render_hit(hit: HitView, body_format: Format, body_limit: int = 32768) -> Message:
    """The message for one hit in the channel's preferred format, cut to `body_limit`."""
    if body_format == "html":
        body = render_html(hit)
    elif body_format == "text":
        body = f"Rule: {defuse_mentions(hit.rule)}\n\n{text_entry(hit)}"
    else:
        body, body_format = render_markdown(hit), "markdown"
    return Message(title=message_title(alert_subject(hit), body_format), body=truncate(body, body_limit),
                   body_format=body_format)
