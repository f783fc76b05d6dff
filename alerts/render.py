"""Turn a stored hit into the message a person reads, escaped for its format.

Email gets a subject and an HTML body (apprise adds the plain-text alternative part);
chat and webhooks get markdown. Each shows the rule, the title linked to the article,
the source feed, the publication date, the matched terms, the snippet with the terms
marked, and the other outlets that ran the same story. Outside text is escaped by
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
    html_link,
    mark_snippet,
    markdown_link,
    one_line,
    truncate,
)
from store.views import HitView

Format = Literal["html", "markdown", "text"]
__all__ = ["Format", "Message", "alert_subject", "defuse_mentions", "message_title", "one_line", "render_hit", "truncate"]


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    body_format: Format


def alert_subject(hit: HitView) -> str:
    return one_line(defuse_mentions(f"[newswatch] {hit.rule}: {hit.title or hit.url}"))


def message_title(text: str, body_format: Format) -> str:
    """One line, no mentions; for chat also without markup (some chats render the title)."""
    return one_line(defuse_mentions(text)) if body_format == "html" else chat_title(text)


def published_text(hit: HitView) -> str:
    return hit.published.strftime("%Y-%m-%d %H:%M UTC") if hit.published else "unknown"


def html_entry(hit: HitView, heading: str = "h2") -> str:
    """The title link, source, date, terms, snippet and other outlets of one hit, as HTML."""
    snippet = mark_snippet(hit.snippet, hit.marks, escape_html, "<mark><b>", "</b></mark>")
    lines = [
        f"<{heading}>{html_link(hit.title or hit.url, hit.url)}</{heading}>",
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
        f"**{markdown_link(hit.title or hit.url, hit.url)}**",
        f"Source: {escape_markdown(hit.feed)} · Language: {escape_markdown(hit.language or 'unknown')}"
        f" · Published: {escape_markdown(published_text(hit))}",
        f"Matched terms: {', '.join(escape_markdown(t) for t in hit.terms)}",
        f"> {snippet}",
    ]
    if hit.also_reported_by:
        lines.append("Also reported by: " + ", ".join(markdown_link(c.feed, c.url) for c in hit.also_reported_by))
    return "\n\n".join(lines)


def render_html(hit: HitView) -> str:
    return (f"<p><b>Rule:</b> {escape_html(hit.rule)}</p>\n{html_entry(hit)}\n"
            f"<p><small>{escape_html(hit.url)}</small></p>")


def render_markdown(hit: HitView) -> str:
    return f"**Rule:** {escape_markdown(hit.rule)}\n\n{markdown_entry(hit)}"


def render_hit(hit: HitView, body_format: Format, body_limit: int = 32768) -> Message:
    """The message for one hit in the channel's preferred format, cut to `body_limit`."""
    if body_format == "html":
        body = render_html(hit)
    else:
        body, body_format = render_markdown(hit), "markdown"
    return Message(title=message_title(alert_subject(hit), body_format), body=truncate(body, body_limit),
                   body_format=body_format)
