"""Remove the chrome that trafilatura leaves in an article's text.

Contract: `clean_article_text(text)` takes trafilatura's plain text (one paragraph per
line) and returns it with
  * copyright / "all rights reserved" / reprint-prohibited lines removed;
  * a long paragraph repeated verbatim (after normalising quotes and whitespace)
    kept once: the copy that sits among unrepeated paragraphs (the body), not the
    copy in a summary box of repeated paragraphs;
  * short lines written in another script than the article's removed when they sit
    before the first or after the last body paragraph (portal UI strings such as
    Korean labels around an English article; a quoted Arabic verse inside the body
    stays); Latin lines are kept in articles of any script;
  * a trailing run of short headline-like list items (related-news lists) removed.
Pure and idempotent. Each rule was measured on the article-extraction benchmark
(bench/extraction.py): none may lower its F1.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter, defaultdict

COPYRIGHT = re.compile(
    r"(copyright\b|©|ⓒ|\(c\)\s*\d{4}|all rights reserved|무단\s*전재|재배포\s*금지|"
    r"無断転載|版权所有|版權所有|все права защищены|tous droits réservés|alle rechte vorbehalten)",
    re.IGNORECASE,
)
MAX_COPYRIGHT_LINE = 250
MAX_FOREIGN_LINE = 300
MIN_REPEATED = 100
MIN_BODY_PARAGRAPH = 80
MAX_HEADLINE = 120
MIN_HEADLINE_RUN = 3
QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
                        "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'"})
SCRIPT_GROUPS = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "HANGUL", "CJK": "CJK"}
LIST_MARKERS = ("- ", "• ", "· ", "* ", "▶", "▷", "►")
SENTENCE_END = tuple(".:;。．！？!?…")


def clean_article_text(text: str) -> str:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    lines = [line for line in lines if not is_copyright_line(line)]
    lines = drop_repeated_paragraphs(lines)
    lines = drop_foreign_script_lines(lines)
    lines = drop_trailing_headlines(lines)
    return "\n".join(lines)


def is_copyright_line(line: str) -> bool:
    return len(line) <= MAX_COPYRIGHT_LINE and COPYRIGHT.search(line) is not None


@functools.lru_cache(maxsize=1 << 16)
def script_of(char: str) -> str | None:
    if not char.isalpha():
        return None
    first = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
    return SCRIPT_GROUPS.get(first, first)


def script_counts(text: str) -> Counter[str]:
    """Letters per script, counted over the text's distinct characters (a page has a few
    hundred): the Unicode name lookup is the costly step, so it runs once per character
    kind, not once per character of the text."""
    counts: Counter[str] = Counter()
    for char, count in Counter(text).items():
        script = script_of(char)
        if script:
            counts[script] += count
    return counts


def dominant_script(text: str) -> tuple[str | None, float]:
    counts = script_counts(text)
    if not counts:
        return None, 0.0
    script, count = counts.most_common(1)[0]
    return script, count / sum(counts.values())


def drop_foreign_script_lines(lines: list[str]) -> list[str]:
    script, share = dominant_script("\n".join(lines))
    if script is None or share < 0.8:
        return lines
    body = [i for i, line in enumerate(lines) if len(line) >= MIN_BODY_PARAGRAPH
            and dominant_script(line)[0] == script]
    if not body:
        return lines
    first, last = body[0], body[-1]
    return [line for i, line in enumerate(lines)
            if first <= i <= last or not is_foreign_line(line, script)]


def is_foreign_line(line: str, article_script: str) -> bool:
    if len(line) > MAX_FOREIGN_LINE:
        return False
    line_script, _share = dominant_script(line)
    return line_script not in (None, article_script, "LATIN")


def paragraph_key(line: str) -> str:
    return " ".join(line.translate(QUOTES).casefold().split())


def drop_repeated_paragraphs(lines: list[str]) -> list[str]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        if len(line) >= MIN_REPEATED:
            groups[paragraph_key(line)].append(index)
    repeated = {i for indices in groups.values() if len(indices) > 1 for i in indices}
    dropped: set[int] = set()
    for indices in groups.values():
        if len(indices) > 1:
            keep = max(indices, key=lambda i: (unrepeated_neighbours(i, lines, repeated), i))
            dropped.update(i for i in indices if i != keep)
    return [line for i, line in enumerate(lines) if i not in dropped]


def unrepeated_neighbours(index: int, lines: list[str], repeated: set[int]) -> int:
    return sum(1 for j in (index - 1, index + 1) if 0 <= j < len(lines) and j not in repeated)


def is_headline_like(line: str) -> bool:
    """A list item (trafilatura writes <li> as "- ...") short enough for a headline."""
    if not line.startswith(LIST_MARKERS):
        return False
    bare = line.lstrip("".join(LIST_MARKERS)).strip()
    return 0 < len(bare) <= MAX_HEADLINE and not bare.endswith(SENTENCE_END)


def drop_trailing_headlines(lines: list[str]) -> list[str]:
    end = len(lines)
    while end > 0 and is_headline_like(lines[end - 1]):
        end -= 1
    if len(lines) - end >= MIN_HEADLINE_RUN and end > 0:
        return lines[:end]
    return lines
