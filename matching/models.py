"""Plain data in and out of the matcher."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MatchInput:
    """What a rule sees of an article: the cleaned title and body, plus routing facts."""

    title: str
    body: str
    language: str | None = None
    feed_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleMatch:
    """Why one rule hit one article.

    `terms` are the matched words as they appear in the text, once each (compared
    case-folded), most telling first (see `matching.explain`); `snippet` is the body
    sentence or two where the terms meet, as plain text; `marks` are the (start, end) character offsets of each matched word in
    `snippet`, so each output format (email HTML, markdown, terminal) marks them itself.
    """

    rule: str
    rule_hash: str
    terms: tuple[str, ...]
    fields: tuple[str, ...]  # "title" and/or "body"
    snippet: str
    marks: tuple[tuple[int, int], ...] = ()
