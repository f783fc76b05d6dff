"""Why a rule hit: the matched words as written, their fields, and a marked snippet.

`explain_match` turns the evidence spans of a hit into a `RuleMatch`. The terms are
listed once each, compared case-folded (`Tariffs` in the title and `tariffs` in the body
are one term), each as it is most often written (the lower-case form on a tie), most
telling first: phrases before single words, then the term found most often, then the
earliest. The snippet is the body sentence holding the most distinct matched terms (the
earliest on a tie; a body line that only repeats the headline does not count), plus the
next sentence when the first is short; without a match in the body, the body's first
sentence; without a body, the title. It is cut to at most SNIPPET_CHARS characters (plus
an ellipsis at each cut end) around the first match in it; `marks` are the
offsets of each matched term inside the snippet. A line break always ends a sentence;
a '.' followed by a lower-case word or a digit ("U.S. officials", "Oct. 13") does not.

Costs stay bounded on huge documents: only the first MAX_EVIDENCE spans are looked at,
and each field is split into sentences once, however many rules hit it; each evidence
span is located (and its sentence found) once per document; rules hitting one document
with the same evidence share one explanation.
A hit without evidence (a rule such as `NOT x`) shows the first sentence.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from typing import NamedTuple

from matching.document import Document, FieldText
from matching.models import RuleMatch
from matching.tokens import fold_word

SNIPPET_CHARS = 400
SHORT_SENTENCE_CHARS = 160
MAX_EVIDENCE = 200
LEAD_CHARS = 2000  # how much of a body `lead_sentences` splits
_ELLIPSIS = "…"
_STOPS = ".!?…。！？\n"
# the text up to a run of stops, the run, then (looked at, not consumed: the next run
# is searched from this run's end) the closing quotes, spaces and one character after it
_STOP_RE = re.compile(rf"([^{_STOPS}]*)([{_STOPS}]+)(?=([\"'”’»)\]]*)(\s*)(.?))", re.DOTALL)
_HARD_STOPS = "。！？"
_TERMINAL = tuple(".!?…。！？\"'”’»)]")

Marks = tuple[tuple[int, int], ...]


class Found(NamedTuple):
    """One matched term: its field, character offsets, folded form, the text as written
    and the character range of its sentence."""

    field: FieldText
    start: int
    end: int
    key: str
    written: str
    sentence: tuple[int, int]


def explain_match(
    rule: str, rule_hash: str, document: Document, spans: list[tuple[int, int]], cjk_words: tuple[str, ...] = ()
) -> RuleMatch:
    """The RuleMatch for a rule that hit `document` with these evidence spans; `cjk_words`
    are the rule's Hangul/Han/Kana words, to mark only them inside longer words. Rules
    that hit with the same evidence (often: several rules about one entity) share one
    explanation per document."""
    evidence = tuple(sorted(set(spans))[:MAX_EVIDENCE])
    key = (evidence, cjk_words)
    explained = document.explanations.get(key)
    if explained is None:
        explained = document.explanations[key] = explain_spans(document, evidence, cjk_words)
    return RuleMatch(rule, rule_hash, *explained)


def explain_spans(
    document: Document, evidence: tuple[tuple[int, int], ...], cjk_words: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], str, Marks]:
    """(terms, fields, snippet, marks) for sorted, distinct evidence spans."""
    located = document.located
    found = [located.get((span, cjk_words)) or locate(document, span, cjk_words) for span in evidence]
    terms = rank_terms(found)
    names = {item.field.name for item in found}
    fields = tuple(name for name in ("title", "body") if name in names)
    snippet, marks = build_snippet(document, found)
    return terms, fields, snippet, marks


def rank_terms(found: list[Found]) -> tuple[str, ...]:
    """Each matched term once (by its folded key), as most often written, most telling first."""
    forms: dict[str, Counter] = {}
    for item in found:
        forms.setdefault(item.key, Counter())[item.written] += 1
    ranked = sorted(forms, key=lambda key: (-key.count(" "), -forms[key].total()))  # stable: earliest first
    return tuple(best_form(forms[key]) for key in ranked)


def best_form(written: Counter) -> str:
    """The form written most often; on a tie, the one with fewest capitals."""
    if len(written) == 1:
        return next(iter(written))
    return max(written, key=lambda form: (written[form], -sum(c.isupper() for c in form)))


def locate(document: Document, span: tuple[int, int], cjk_words: tuple[str, ...]) -> Found:
    """The Found for one evidence span, remembered by the document."""
    field, start, end, key = locate_span(*document.fields, span, cjk_words)
    found = Found(field, start, end, key, field.text[start:end], sentence_around(field, start))
    document.located[span, cjk_words] = found
    return found


def locate_span(
    title: FieldText, body: FieldText, span: tuple[int, int], cjk_words: tuple[str, ...]
) -> tuple[FieldText, int, int, str]:
    """(field, start, end, folded form) of the words of one span."""
    field = body if span[0] >= body.base else title
    first, last = span[0] - field.base, span[1] - 1 - field.base
    start, end = field.offset_of(first)
    if first == last:
        word = field.words[first]
        if cjk_words:
            start = start + narrow_cjk(word, cjk_words, from_end=False)
            end = end - narrow_cjk(word, cjk_words, from_end=True)
            return field, start, end, fold_word(field.text[start:end])
        return field, start, end, fold_word(word)
    end = field.offset_of(last)[1]
    if cjk_words:
        start = start + narrow_cjk(field.words[first], cjk_words, from_end=False)
        end = end - narrow_cjk(field.words[last], cjk_words, from_end=True)
    return field, start, end, " ".join(map(fold_word, field.words[first : last + 1]))


def narrow_cjk(word: str, cjk_words: tuple[str, ...], from_end: bool) -> int:
    """How many characters of a text word lie before (or after) the rule's CJK word
    inside it; 0 when the word holds none (or folding changed its length)."""
    folded = fold_word(word)
    if len(folded) != len(word):
        return 0
    places = [(folded.find(cjk), len(cjk)) for cjk in cjk_words if cjk in folded]
    if not places:
        return 0
    if from_end:
        return min(len(word) - found - size for found, size in places)
    return min(found for found, _ in places)


def build_snippet(document: Document, found: list[Found]) -> tuple[str, Marks]:
    """The body sentence where the terms meet (a body line that repeats the headline does not
    count); the body's first sentence when none holds a term; the title only without a body."""
    title, body = document.fields
    if not body.text.strip():
        if not found:
            return cut_window(title.text, *add_short_next(title, *sentence_around(title, 0)), [])
        field, low, high = strongest_sentence(found)
        return cut_window(title.text, *add_short_next(title, low, high), found)
    headline = normalise(title.text)
    sentences = {item.sentence for item in found if item.field is body}
    headlines = {sentence for sentence in sentences if repeats_title(body, sentence, headline)}
    in_body = [item for item in found if item.field is body and item.sentence not in headlines]
    if in_body:
        low, high = add_short_next(body, *strongest_sentence(in_body)[1:])
    else:
        low, high = lead_sentences(body, headline)
    return cut_window(body.text, low, high, [item for item in found if item.field is body])


@functools.lru_cache(maxsize=1024)
def normalise(text: str) -> str:
    """Case-folded, spaces collapsed, no closing stop: how a headline is compared."""
    return " ".join(text.casefold().split()).rstrip(".!?…。！？")


def repeats_title(field: FieldText, sentence: tuple[int, int], headline: str) -> bool:
    """Is this sentence the headline again (pages often repeat it atop the body)?"""
    if not headline or sentence[1] - sentence[0] > 2 * len(headline) + 40:
        return False  # far longer than the headline, whatever its spacing
    text = normalise(field.text[sentence[0]:sentence[1]])
    return bool(text) and (text in headline or (headline in text and len(text) <= len(headline) + 12))


def lead_sentences(field: FieldText, headline: str) -> tuple[int, int]:
    """The body's first sentence that is not empty and does not repeat the headline (else the
    first), plus the next one when it is short; found once per field. Only the first
    LEAD_CHARS are split: the lead is all a snippet needs."""
    if field.lead is None:
        field.lead = find_lead(field, headline)
    return field.lead


def find_lead(field: FieldText, headline: str) -> tuple[int, int]:
    text = field.text[:LEAD_CHARS]
    starts = field.sentence_starts or find_sentence_starts(text)
    ranges = [(start, end) for start, end in zip(starts, [*starts[1:], len(text)]) if end <= len(text)]
    ranges = [(low, high) for low, high in ranges if text[low:high].strip()] or ranges[:1]
    index = next((i for i, sentence in enumerate(ranges) if not repeats_title(field, sentence, headline)), 0)
    low, high = ranges[index]
    if high - low < SHORT_SENTENCE_CHARS and index + 1 < len(ranges) and ranges[index + 1][1] - low <= SNIPPET_CHARS:
        high = ranges[index + 1][1]
    return low, high


def strongest_sentence(found: list[Found]) -> tuple[FieldText, int, int]:
    """The field and character range of the sentence with most distinct matched terms."""
    if len(found) == 1:
        return found[0].field, *found[0].sentence
    sentences: dict[tuple[str, int, int], set[str]] = {}
    fields = {item.field.name: item.field for item in found}
    for item in found:
        sentences.setdefault((item.field.name, *item.sentence), set()).add(item.key)
    name, low, high = max(sentences, key=lambda place: len(sentences[place]))
    return fields[name], low, high


def sentence_around(field: FieldText, offset: int) -> tuple[int, int]:
    """Character range of the sentence holding `offset`."""
    starts = sentence_starts(field)
    index = bisect.bisect_right(starts, offset) - 1
    return starts[index], starts[index + 1] if index + 1 < len(starts) else len(field.text)


def sentence_starts(field: FieldText) -> list[int]:
    """Offsets where the field's sentences start, found once per field."""
    if field.sentence_starts is None and not any(stop in field.text for stop in _STOPS):
        field.sentence_starts = [0]  # no sentence end at all (a quick C-level check)
    if field.sentence_starts is None:
        field.sentence_starts = find_sentence_starts(field.text)
    return field.sentence_starts


def find_sentence_starts(text: str) -> list[int]:
    """0 and where the next sentence starts after each run of stops ('.', '!', '。',
    line breaks) that ends one: a run ends a sentence when text follows it and it
    holds a line break or ends in '。', '！' or '？', or when spaces and then neither a
    lower-case letter nor a digit follow it. One C-level regex pass, then a few
    steps per run."""
    starts = [0]
    end = 0
    for before, run, quotes, space, following in _STOP_RE.findall(text):
        end += len(before) + len(run)
        if not following:
            continue
        if "\n" in run or run[-1] in _HARD_STOPS or space and not (following.islower() or following.isdigit()):
            starts.append(end + len(quotes) + len(space))
    return starts


def add_short_next(field: FieldText, low: int, high: int) -> tuple[int, int]:
    """Add the next sentence when this one is short and both fit in a snippet."""
    if high - low >= SHORT_SENTENCE_CHARS or high >= len(field.text):
        return low, high
    following = sentence_around(field, high)[1]
    return (low, following) if following - low <= SNIPPET_CHARS else (low, high)


def cut_window(text: str, low: int, high: int, found: list[Found]) -> tuple[str, Marks]:
    """The snippet for text[low:high], shortened around its first match, with marks."""
    low, high = strip_range(text, low, high)
    inside = [item for item in found if item.end > low and item.start < high]
    if high - low > SNIPPET_CHARS:
        anchor = inside[0].start if inside else low
        low = max(low, min(anchor - SNIPPET_CHARS // 3, high - SNIPPET_CHARS))
        low, high = trim_to_words(text, low, low + SNIPPET_CHARS)
    lead = _ELLIPSIS if starts_inside_sentence(text, low) else ""
    tail = _ELLIPSIS if ends_inside_sentence(text, high) else ""
    return lead + text[low:high] + tail, mark_range(inside, low, high, len(lead))


def strip_range(text: str, low: int, high: int) -> tuple[int, int]:
    while low < high and text[low].isspace():
        low += 1
    while high > low and text[high - 1].isspace():
        high -= 1
    return low, high


def trim_to_words(text: str, low: int, high: int) -> tuple[int, int]:
    """Move both cuts off the middle of a word when a space is near (within 30 chars)."""
    space = text.find(" ", low, low + 30)
    if low > 0 and not text[low - 1].isspace() and space != -1:
        low = space + 1
    space = text.rfind(" ", high - 30, high)
    if high < len(text) and not text[high].isspace() and space > low:
        high = space
    return strip_range(text, low, high)


def starts_inside_sentence(text: str, low: int) -> bool:
    before = text[max(0, low - 8) : low]
    gap = before[len(before.rstrip()) :]
    return bool(before.strip()) and "\n" not in gap and not before.rstrip().endswith(_TERMINAL)


def ends_inside_sentence(text: str, high: int) -> bool:
    after = text[high : high + 8]
    gap = after[: len(after) - len(after.lstrip())]
    return bool(after.strip()) and "\n" not in gap and not text.endswith(_TERMINAL, 0, high)


def mark_range(found: list[Found], low: int, high: int, lead: int) -> Marks:
    """Offsets of the matches inside text[low:high], in a snippet that starts there."""
    shift = lead - low
    marks = {(max(item.start, low) + shift, min(item.end, high) + shift) for item in found if item.end > low and item.start < high}
    return tuple(sorted(marks))
