"""Words of text and of queries: one tokenizer for both, so a phrase matches itself.

A word is a run of letters, digits and combining marks. A run of Hangul, Han or Kana
is a word of its own (a change of script splits a word). Everything else — spaces,
punctuation, apostrophes of any shape, hyphens — only separates words, so "K-pop",
"KN-23" and "People’s Republic" are the same word sequence in the text and in a query.

`fold_word` gives the form words are compared in: NFKC (full-width letters become
ASCII), case folded, Latin/Greek/Cyrillic accents removed (`é` compares as `e`).
Hangul, Han and Kana words are compared by substring (`is_cjk`), because Korean
particles attach to nouns and Chinese and Japanese are written without spaces.

Most news text outside ASCII is ASCII words between curly quotes and dashes. For such
text, and for ASCII text, `ascii_spaced` gives the text with every character but an
ASCII letter or digit replaced by a space: the same words at the same offsets, which
C-level string methods split and search.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterator

_CJK_RANGES = (
    "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"  # Hangul
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3038-\u303b"  # Han radicals and marks
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # Han
    "\u3040-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # Kana
    "\U0001b000-\U0001b16f"
)


def _list_mark_ranges() -> str:
    """Combining marks of the Basic Multilingual Plane that `\\w` misses, as a class body."""
    marks = [c for c in range(0x10000) if unicodedata.category(chr(c))[0] == "M" and not chr(c).isalnum()]
    ranges: list[tuple[int, int]] = []
    for code in marks:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(f"{chr(a)}-{chr(b)}" for a, b in ranges)


_MARKS = _list_mark_ranges()
_ASCII_WORD_RE = re.compile(r"[A-Za-z0-9]+")
_WORD_RE = re.compile(rf"[^\W_]+(?:[{_MARKS}]+[^\W_]*)*")
_SCRIPT_RUN_RE = re.compile(rf"[{_CJK_RANGES}]+|[^\W_{_CJK_RANGES}]+(?:[{_MARKS}]+[^\W_{_CJK_RANGES}]*)*")
_CJK_RE = re.compile(rf"[{_CJK_RANGES}]")
_SPLITTERS = {pattern: re.compile(f"({pattern.pattern})") for pattern in (_ASCII_WORD_RE, _WORD_RE, _SCRIPT_RUN_RE)}
_ACCENTS_RE = re.compile("[\u0300-\u036f]+")
_ASCII_RUN_RE = re.compile("[\x00-\x7f]+")
_WORD_PART_RE = re.compile(rf"[^\W_]|[{_MARKS}]")  # a character that is, or joins, part of a word
_ASCII_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def split_words(text: str) -> list[str]:
    """The words of `text`, in order, as written (mostly ASCII text in C-level string
    passes, other text by the word pattern)."""
    spaced = ascii_spaced(text)
    return _pattern_for(text).findall(text) if spaced is None else spaced.split()


def ascii_spaced(text: str) -> str | None:
    """`text` with every character but an ASCII letter or digit replaced by a space (so
    of the same length, with the same words at the same offsets), when its non-ASCII
    characters only separate words; else None."""
    if not text.isascii():
        if _WORD_PART_RE.search(_ASCII_RUN_RE.sub("", text)):
            return None
        text = text.encode("ascii", "replace").decode("ascii")  # each one becomes '?'
    return text.translate(_ASCII_SEPARATORS)


def find_words(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) offsets of the same words as `split_words`, lazily."""
    return map(re.Match.span, _pattern_for(text).finditer(text))


def split_pieces(text: str) -> list[str]:
    """`text` cut into alternating separators and words, in one C-level pass:
    separator, word, separator, ..., word, separator (so `pieces[1::2]` are the words
    of `split_words` and running sums of the pieces' lengths are their offsets)."""
    return _SPLITTERS[_pattern_for(text)].split(text)


def space_pieces(pieces: list[str]) -> str | None:
    """The text of `split_pieces` with every separator replaced by spaces (so of the
    same length), when every two words have a separator between them (no change of
    script inside a run of letters); else None. C-level passes over the pieces."""
    if "" in pieces[2:-1:2]:
        return None
    spaced = pieces.copy()
    spaced[0::2] = map(" ".__mul__, map(len, pieces[0::2]))
    return "".join(spaced)


def _pattern_for(text: str) -> re.Pattern[str]:
    """The fastest of three equivalent word patterns that fits this text."""
    if text.isascii():
        return _ASCII_WORD_RE
    return _SCRIPT_RUN_RE if _CJK_RE.search(text) else _WORD_RE


@lru_cache(maxsize=1 << 16)
def fold_word(word: str) -> str:
    """The comparison form of one word."""
    if word.isascii():
        return word.lower()
    text = unicodedata.normalize("NFKC", word).casefold()
    if is_cjk(text):
        return text
    stripped = _ACCENTS_RE.sub("", unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFC", stripped)


_HAN_KANA_RE = re.compile(
    "[\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0003134f\u3040-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f\U0001b000-\U0001b16f]"
)


def has_cjk(text: str) -> bool:
    """True when a text holds any Hangul, Han or Kana."""
    return _CJK_RE.search(text) is not None


def has_han_or_kana(word: str) -> bool:
    """True when a word holds Han or Kana (Chinese and Japanese write without spaces;
    Korean spaces its words, so a Hangul run is one word with its particles)."""
    return _HAN_KANA_RE.search(word) is not None


def is_cjk(word: str) -> bool:
    """True for a Hangul, Han or Kana word (matched inside longer words)."""
    return bool(word) and _CJK_RE.match(word) is not None
