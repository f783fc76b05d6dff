"""Generate `country.json`, the built-in `@country:XX` name pack. Run at release, never at run time:

    python -m matching.packs.build_country_pack        # needs the `dev` extra (babel, pycountry, ...)

Where the names come from, per ISO 3166-1 alpha-2 code:
  - CLDR's territory names in every locale Babel ships (the short names: "North Korea",
    "북한", "北朝鮮", "КНДР", "Nordkorea"), keyed by the locale's language; Chinese is
    split by script into `zh-Hans` and `zh-Hant`;
  - pycountry's `name`, `official_name` and `common_name`, in English and in every
    language of its iso3166-1 translations ("Корейская Народно-Демократическая
    Республика", "조선민주주의인민공화국", "Северная Корея");
  - ABBREVIATIONS below: the few short forms the formal name does not give (DPRK, КНДР);
  - OpenCC's converter: each Chinese name also in the other script (朝鲜 / 朝鮮).

What is left out (FILTERS, each tested in tests/test_matching_packs.py):
  - inverted word order ("Korea, Democratic People's Republic of", "Korea - Republika
    Ludowo-Demokratyczna"): any name holding ", " or " - ";
  - a name with brackets: "Корея (Солтүстік)" is inverted order too, and a bare "Korea"
    from it would match South Korea; "Myanmar (Burma)" is left to CLDR's and pycountry's
    other names ("Myanmar", "Republic of the Union of Myanmar");
  - the generic part of two countries' names ("Korea" of North and South Korea): a name
    that lies inside a longer name of its own country and of another one in the same
    language, unless it is CLDR's name of the country in that language ("Sudan");
  - AMBIGUOUS: short forms that are mostly something else in news text (a first name,
    a US state, a common word) in any language: "Chad", "Jordan", "Georgia", "조선"
    (Joseon, shipbuilding), "朝鮮" (Japanese for the peninsula);
  - a name two countries share in one language ("Congo"): it identifies neither;
  - one- or two-letter names that are not listed abbreviations.

Inflected forms (`forms`): for each word of a name in a language that declines nouns
(INFLECTED_LANGUAGES), simplemma's dictionary of that language gives the word's lemma and
every form with that lemma ("Россия" -> России, Россию, Россией; "Rosja" -> Rosji,
Rosję). German adds the genitive "-s" of names (Nordkoreas, Russlands), which its
dictionary lacks. A form is kept only when it has at least 4 letters and is not an English word
(simplemma's English dictionary): "Chin" (Polish, of "Chiny") would match "chin".
"""

from __future__ import annotations

import gettext
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

OUTPUT = Path(__file__).with_name("country.json")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from matching.tokens import fold_word, split_words  # noqa: E402

# Short forms CLDR and pycountry do not give, by code and language. Each is the form news
# writes in that language; the lowercase English "us" is why the United States get "USA"
# and "U.S." but not "US".
ABBREVIATIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "KP": {"en": ("DPRK", "D.P.R.K."), "ru": ("КНДР",), "uk": ("КНДР",), "bg": ("КНДР",), "pl": ("KRLD",),
           "cs": ("KLDR",), "de": ("DVRK",), "fr": ("RPDC",), "es": ("RPDC",), "it": ("RPDC",),
           "tr": ("KDHC",), "zh-Hans": ("北朝鲜",), "zh-Hant": ("北朝鮮",)},
    "KR": {"en": ("ROK",), "ru": ("РК",), "zh-Hans": ("南韩",), "zh-Hant": ("南韓",)},
    "RU": {"ru": ("РФ",), "uk": ("РФ",), "en": ("Russian Federation",)},
    "US": {"en": ("USA", "U.S.", "U.S.A."), "ru": ("США",), "uk": ("США",), "de": ("USA",), "fr": ("États-Unis",)},
    "GB": {"en": ("UK", "U.K."), "ru": ("Великобритания",)},
    "AE": {"en": ("UAE", "U.A.E."), "ru": ("ОАЭ",), "uk": ("ОАЕ",), "de": ("VAE",), "fr": ("EAU",), "es": ("EAU",)},
    "CN": {"en": ("PRC",), "ru": ("КНР",), "uk": ("КНР",), "pl": ("ChRL",)},
}
# Short forms that are mostly something else (first names, a US state, common words, the
# whole Korean peninsula). Matching does not know a text's language, so a form is left out
# in every language that writes it: "Chad" (Spanish, Malay, ...) would match the first name.
AMBIGUOUS: frozenset[str] = frozenset({
    "chad", "jordan", "georgia", "jersey", "guernsey", "man", "chin", "niger",
    "조선",  # Joseon, shipbuilding (조선일보 is a Seoul daily)
    "朝鮮",  # Japanese for the peninsula (朝鮮半島); North Korea is 北朝鮮
})
# Languages whose nouns decline and that simplemma has a dictionary for.
INFLECTED_LANGUAGES = ("ru", "uk", "bg", "pl", "cs", "sk", "sl", "hbs", "de", "tr", "fi", "hu", "lt", "lv", "el", "ro")
SIMPLEMMA_CODE = {"sr": "hbs", "hr": "hbs", "bs": "hbs"}
MIN_FORM_LETTERS = 4


def list_iso_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (pycountry's), and XK (Kosovo), which CLDR and news use."""
    import pycountry

    return frozenset(country.alpha_2 for country in pycountry.countries) | {"XK"}
_INVERTED_RE = re.compile(r", | - | – ")


def language_of(locale: str) -> str:
    """'zh_Hant_HK' -> 'zh-Hant', 'zh_CN' -> 'zh-Hans', 'sr_Latn' and 'sr@latin' -> 'sr-Latn',
    'en_Dsrt' -> 'en-Dsrt' (another script is another list), 'de_AT' -> 'de'."""
    parts = re.split(r"[_@-]", locale)
    if parts[0] == "zh":
        return "zh-Hant" if any(part in ("Hant", "TW", "HK", "MO") for part in parts[1:]) else "zh-Hans"
    scripts = ["Latn" if part == "latin" else part.title() for part in parts[1:] if len(part) == 4 or part == "latin"]
    return f"{parts[0]}-{scripts[0]}" if scripts else parts[0]


def split_name(name: str) -> list[str]:
    """The usable names in one source name: [] for inverted word order, brackets or quotes
    (ארה"ב: a query term cannot hold them), else the name itself with its spaces tidied."""
    name = " ".join(name.split())
    if not name or _INVERTED_RE.search(name) or any(char in name for char in '()@"“”„\t'):
        return []
    return [name]


def is_kept(name: str, language: str, abbreviations: frozenset[str]) -> bool:
    """FILTERS: not a listed ambiguous form; at least 3 letters unless a listed abbreviation
    or written in Han/Hangul/Kana (two characters make a name there)."""
    if name.casefold() in AMBIGUOUS:
        return False
    letters = sum(char.isalnum() for char in name)
    return name in abbreviations or letters >= 3 or (letters == 2 and not name.isascii() and not name.isupper())


def collect_cldr(names: dict, cldr: set) -> None:
    """CLDR's names; `cldr` gets each (code, language, name) too."""
    from babel import Locale, localedata

    codes = list_iso_codes()
    for locale in localedata.locale_identifiers():
        language = language_of(locale)
        for code, name in Locale.parse(locale).territories.items():
            if code in codes:
                names[code][language].update(split_name(name))
                cldr.update((code, language, kept) for kept in split_name(name))


def collect_pycountry(names: dict) -> None:
    import pycountry

    locales = sorted(p.name for p in Path(pycountry.LOCALES_DIR).iterdir() if (p / "LC_MESSAGES" / "iso3166-1.mo").exists())
    for locale in ["en", *locales]:
        translate = (lambda text: text) if locale == "en" else gettext.translation(
            "iso3166-1", pycountry.LOCALES_DIR, languages=[locale]).gettext
        for country in pycountry.countries:
            for field in ("name", "official_name", "common_name"):
                original = getattr(country, field, None)
                if original:
                    translated = translate(original)
                    if locale == "en" or translated != original:
                        names[country.alpha_2][language_of(locale)].update(split_name(translated))


def add_abbreviations(names: dict) -> None:
    for code, by_language in ABBREVIATIONS.items():
        for language, forms in by_language.items():
            names[code][language].update(forms)


def add_chinese_scripts(names: dict) -> None:
    """Every Chinese name in both scripts: 朝鲜 <-> 朝鮮, 北韓 <-> 北韩."""
    from opencc import OpenCC

    to_traditional, to_simplified = OpenCC("s2t"), OpenCC("t2s")
    for by_language in names.values():
        simplified, traditional = by_language.get("zh-Hans", set()), by_language.get("zh-Hant", set())
        by_language["zh-Hant"] = traditional | {to_traditional.convert(name) for name in simplified}
        by_language["zh-Hans"] = simplified | {to_simplified.convert(name) for name in traditional}


def drop_generic_parts(names: dict, cldr: set) -> None:
    """FILTERS: "Korea" inside "North Korea" (its own) and "South Korea" (another's)."""
    phrases: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))  # language -> code -> " w1 w2 "
    for code, by_language in names.items():
        for language, found in by_language.items():
            phrases[language][code].update(f" {' '.join(map(fold, split_words(n)))} " for n in found)
    for code, by_language in names.items():
        for language, found in by_language.items():
            def generic(name: str) -> bool:
                words = f" {' '.join(map(fold, split_words(name)))} "
                inside = [other for other, texts in phrases[language].items() if any(words in t and words != t for t in texts)]
                return code in inside and len(inside) > 1 and (code, language, name) not in cldr
            by_language[language] = {n for n in found if not generic(n)}


def drop_shared(names: dict) -> None:
    """A name two countries share in one language identifies neither."""
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for code, by_language in names.items():
        for language, found in by_language.items():
            for name in found:
                owners[language, name.casefold()].add(code)
    listed = {(language, name.casefold()) for by in ABBREVIATIONS.values() for language, forms in by.items() for name in forms}
    for code, by_language in names.items():
        for language, found in by_language.items():
            by_language[language] = {n for n in found if len(owners[language, n.casefold()]) == 1 or (language, n.casefold()) in listed}


def filter_names(names: dict) -> dict[str, dict[str, list[str]]]:
    abbreviations = frozenset(form for by in ABBREVIATIONS.values() for forms in by.values() for form in forms)
    return {
        code: {language: sorted(n for n in found if is_kept(n, language, abbreviations))
               for language, found in sorted(by_language.items()) if any(is_kept(n, language, abbreviations) for n in found)}
        for code, by_language in sorted(names.items())
    }


def fold(word: str) -> str:
    """The matcher's comparison form (see matching.tokens.fold_word)."""
    return fold_word(word)


def collect_forms(pack: dict[str, dict[str, list[str]]]) -> dict[str, list[str]]:
    """Folded name word -> its other folded forms, from simplemma's dictionaries."""
    import simplemma
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    english = DefaultDictionaryFactory().get_dictionary("en")
    english_words = {word.casefold() for word in english.keys()} | {word.casefold() for word in english.values()}
    words_by_language: dict[str, set[str]] = defaultdict(set)
    all_names = set()
    for by_language in pack.values():
        for language, found in by_language.items():
            base = language.split("-")[0]
            code = SIMPLEMMA_CODE.get(base, base)
            all_names.update(fold(name) for name in found if len(split_words(name)) == 1)
            if code in INFLECTED_LANGUAGES:
                words_by_language[code].update(word for name in found for word in split_words(name))
    forms: dict[str, set[str]] = defaultdict(set)
    for language, words in sorted(words_by_language.items()):
        print(f"  forms: {language} ({len(words)} name words)", file=sys.stderr)
        lemmas = {word: simplemma.lemmatize(word, lang=language) for word in words}
        wanted = {lemma.casefold() for lemma in lemmas.values()}
        inverted: dict[str, set[str]] = defaultdict(set)
        for form, lemma in DefaultDictionaryFactory().get_dictionary(language).items():
            if lemma.casefold() in wanted:
                inverted[fold(lemma)].add(fold(form))
        for word, lemma in lemmas.items():
            family = inverted.get(fold(lemma), set()) | {fold(lemma)}
            if fold(word) not in family:
                continue  # the lemma came from a guessing rule, not the dictionary
            kept = {form for form in family - {fold(word)} if keep_form(form, english_words, all_names)}
            forms[fold(word)].update(kept)
    add_german_genitives(pack, forms)
    return {word: sorted(found) for word, found in sorted(forms.items()) if found}


def add_german_genitives(pack: dict[str, dict[str, list[str]]], forms: dict[str, set[str]]) -> None:
    """German names of countries take "-s" in the genitive (Russlands, Nordkoreas), unless
    they end in a sibilant or are plural/feminine ("die Schweiz", "die Niederlande")."""
    for by_language in pack.values():
        for name in by_language.get("de", ()):
            words = split_words(name)
            last = fold(words[-1]) if words else ""
            if len(words) == 1 and last[-1:] not in ("s", "x", "z", "e") and not name.isupper() and len(last) >= 4:
                forms[last].add(last + "s")


def keep_form(form: str, english_words: set[str], names: set[str]) -> bool:
    """A generated form is kept when it is long enough and not an English word."""
    letters = sum(char.isalnum() for char in form)
    return letters >= MIN_FORM_LETTERS and (form not in english_words or form in names) and form.isalpha()


def build_pack() -> dict:
    names: dict = defaultdict(lambda: defaultdict(set))
    cldr: set[tuple[str, str, str]] = set()
    collect_cldr(names, cldr)
    collect_pycountry(names)
    add_abbreviations(names)
    add_chinese_scripts(names)
    drop_shared(names)
    drop_generic_parts(names, cldr)
    pack = filter_names(names)
    return {"pack": "country", "about": about(), "names": pack, "forms": collect_forms(pack)}


def about() -> dict:
    from importlib.metadata import version

    return {
        "generated_by": "python -m matching.packs.build_country_pack",
        "sources": {name: version(name) for name in ("babel", "pycountry", "opencc-python-reimplemented", "simplemma")},
        "keys": "ISO 3166-1 alpha-2",
    }


def serialise(pack: dict) -> str:
    """JSON with each list joined into one string (names by tabs, forms by spaces): a few
    thousand strings parse several times faster than ninety thousand list items."""
    compact = dict(pack)
    compact["names"] = {code: {language: "\t".join(names) for language, names in by.items()} for code, by in pack["names"].items()}
    compact["forms"] = {word: " ".join(forms) for word, forms in pack["forms"].items()}
    return json.dumps(compact, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def main() -> None:
    pack = build_pack()
    text = serialise(pack)
    OUTPUT.write_text(text + "\n", encoding="utf-8")
    languages = {language for by in pack["names"].values() for language in by}
    print(f"{OUTPUT}: {len(pack['names'])} countries, {len(languages)} languages, "
          f"{sum(len(f) for f in pack['forms'].values()):,} inflected forms, {len(text.encode()) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
