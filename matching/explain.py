"""Why a rule hit: the matched words as written, their fields, and a marked snippet.

`explain_match` turns the evidence spans of a hit into a `RuleMatch`. The snippet is
the sentence holding the most distinct matched terms (the earliest on a tie), plus
the next sentence when the first is short, cut to at most SNIPPET_CHARS characters
around the first match; `marks` are the offsets of each matched term inside it. Only
the first MAX_EVIDENCE spans are considered, so explaining a hit on a huge document
stays cheap. A hit without evidence (a rule such as `NOT x`) shows the first sentence.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from matching.document import Document, FieldText
from matching.models import RuleMatch
from matching.tokens import fold_word

SNIPPET_CHARS = 400
SHORT_SENTENCE_CHARS = 160
MAX_EVIDENCE = 200
_ELLIPSIS = "…"
_SENTENCE_END_RE = re.compile(r"[.!?…]+[\"'”’»)\]]*\s+|[。！？]+\s*|\s*\n\s*")


@dataclass(frozen=True)
class Found:
    """One matched term: its field, character offsets and folded form."""

    field: FieldText
    start: int
    end: int
    key: str


def explain_match(rule: str, rule_hash: str, document: Document, spans: list[tuple[int, int]]) -> RuleMatch:
    """The RuleMatch for a rule that hit `document` with these evidence spans."""
    found = [locate_span(document, span) for span in sorted(set(spans))[:MAX_EVIDENCE]]
    terms = dict.fromkeys(item.field.text[item.start : item.end] for item in found)
    fields = tuple(name for name in ("title", "body") if any(item.field.name == name for item in found))
    snippet, marks = build_snippet(document, found)
    return RuleMatch(rule, rule_hash, tuple(terms), fields, snippet, marks)


def locate_span(document: Document, span: tuple[int, int]) -> Found:
    field = document.field_at(span[0])
    first, last = span[0] - field.base, span[1] - 1 - field.base
    start, end = field.offset_of(first)[0], field.offset_of(last)[1]
    key = " ".join(fold_word(word) for word in field.words[first : last + 1])
    return Found(field, start, end, key)


def sentence_starts(text: str) -> list[int]:
    """Offsets where sentences start; a '.' followed by a lower-case word or a digit
    ("U.S. officials", "Oct. 13") does not end a sentence."""
    starts = [0]
    for end in _SENTENCE_END_RE.finditer(text):
        following = text[end.end() : end.end() + 1]
        if following and not following.islower() and not following.isdigit():
            starts.append(end.end())
    return starts


def build_snippet(document: Document, found: list[Found]) -> tuple[str, tuple[tuple[int, int], ...]]:
    if not found:
        field = document.fields[1] if document.fields[1].text.strip() else document.fields[0]
        return cut_window(field.text, *sentence_window(field.text, sentence_starts(field.text), 0), [])
    field, index, starts = strongest_sentence(found)
    in_field = [item for item in found if item.field is field]
    low, high = sentence_window(field.text, starts, index)
    return cut_window(field.text, low, high, in_field)


def strongest_sentence(found: list[Found]) -> tuple[FieldText, int, list[int]]:
    """The field and sentence index with the most distinct matched terms."""
    starts_by_field = {id(item.field): sentence_starts(item.field.text) for item in found}
    keys: dict[tuple[int, int], set[str]] = {}
    fields: dict[int, FieldText] = {}
    for item in found:
        index = bisect.bisect_right(starts_by_field[id(item.field)], item.start) - 1
        keys.setdefault((id(item.field), index), set()).add(item.key)
        fields[id(item.field)] = item.field
    best = max(keys, key=lambda place: len(keys[place]))
    return fields[best[0]], best[1], starts_by_field[best[0]]


def sentence_window(text: str, starts: list[int], index: int) -> tuple[int, int]:
    """Character range of sentence `index`, plus the next one when it is short."""
    low = starts[index]
    high = starts[index + 1] if index + 1 < len(starts) else len(text)
    if high - low < SHORT_SENTENCE_CHARS and index + 2 <= len(starts):
        following = starts[index + 2] if index + 2 < len(starts) else len(text)
        if following - low <= SNIPPET_CHARS:
            high = following
    return low, high


def cut_window(text: str, low: int, high: int, found: list[Found]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The snippet text for [low, high), shortened around the first match, with marks."""
    low, high = strip_range(text, low, high)
    inside = [item for item in found if item.end > low and item.start < high]
    if high - low <= SNIPPET_CHARS:
        return text[low:high], mark_range(inside, low, high, 0)
    anchor = inside[0].start if inside else low
    start = max(low, min(anchor - SNIPPET_CHARS // 3, high - SNIPPET_CHARS))
    end = min(high, start + SNIPPET_CHARS - 2)
    start, end = trim_to_words(text, start, end)
    lead = _ELLIPSIS if start > low else ""
    tail = _ELLIPSIS if end < high else ""
    return lead + text[start:end] + tail, mark_range(inside, start, end, len(lead))


def strip_range(text: str, low: int, high: int) -> tuple[int, int]:
    while low < high and text[low].isspace():
        low += 1
    while high > low and text[high - 1].isspace():
        high -= 1
    return low, high


def mark_range(found: list[Found], low: int, high: int, lead: int) -> tuple[tuple[int, int], ...]:
    """Offsets of the matches inside [low, high), relative to a snippet starting there."""
    shift = lead - low
    marks = {(max(item.start, low) + shift, min(item.end, high) + shift) for item in found if item.end > low and item.start < high}
    return tuple(sorted(marks))


def trim_to_words(text: str, low: int, high: int) -> tuple[int, int]:
    """Move a cut off the middle of a word when a space is near (within 30 chars)."""
    space = text.find(" ", low, low + 30)
    if low > 0 and not text[low - 1].isspace() and space != -1:
        low = space + 1
    space = text.rfind(" ", high - 30, high)
    if high < len(text) and not text[high].isspace() and space > low:
        high = space
    return low, high
