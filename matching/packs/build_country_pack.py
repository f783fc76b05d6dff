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
    Ludowo-Demokratyczna", "كوريا، جمهورية كوريا ..."): any name holding a comma of any
    script ("," "،" "、" "，") or " - ";
  - garbled translations: sentence punctuation ("፠ቡብ ጥሱ።", "चीन:") or unassigned characters;
  - a name that, as the matcher reads it, also names another country in any language
    (Ge'ez's "ደቡብ፡ኮሪያ" for North Korea is Amharic's South Korea), unless most sources
    give it to this country (drop_other_countries_names);
  - a translated name one letter from another country's CLDR name in that language
    ("দক্ষিন কোৰিয়া", Assamese for South Korea misspelt, given for North Korea);
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
import unicodedata
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
# Inverted order in any script's comma ("كوريا، جمهورية ...", "、", "，"), also unspaced.
_INVERTED_RE = re.compile(r"[,،、，﹐､]| - | – ")
# Sentence punctuation no name holds (Ethiopic full stop, comma, colons; ";", "/", "_", a
# trailing ":"): garbled translations ("፠ቡብ ጥሱ።", "संयुक्त राज्य:").
_GARBLED_RE = re.compile(r"[።፣፤፥፦፧፨፠;/_¨]|:$")
DROPPED: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # filter -> (code, language, name)


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
    (ארה"ב: a query term cannot hold them) and garbled ones, else the name itself with its
    spaces tidied."""
    name = " ".join(name.split())
    if not name or _INVERTED_RE.search(name) or any(char in name for char in '()@"“”„\t') or is_garbled(name):
        return []
    return [name]


def is_garbled(name: str) -> bool:
    """FILTERS: sentence punctuation inside a name, or a character Unicode does not assign."""
    return bool(_GARBLED_RE.search(name)) or any(unicodedata.category(char) == "Cn" for char in name)


def add_names(found: set, code: str, language: str, name: str) -> list[str]:
    """Adds split_name's names to `found`, and notes in DROPPED what it left out and why."""
    kept = split_name(name)
    if not kept and " ".join(name.split()):
        DROPPED["garbled" if is_garbled(name) else "inverted or bracketed"].append((code, language, name))
    found.update(kept)
    return kept


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
                cldr.update((code, language, kept) for kept in add_names(names[code][language], code, language, name))


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
                        language = language_of(locale)
                        add_names(names[country.alpha_2][language], country.alpha_2, language, translated)


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
            dropped = {n for n in found if generic(n)}
            DROPPED["generic part"].extend((code, language, n) for n in sorted(dropped))
            by_language[language] = found - dropped


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
            dropped = {n for n in found if len(owners[language, n.casefold()]) > 1 and (language, n.casefold()) not in listed}
            DROPPED["shared in one language"].extend((code, language, n) for n in sorted(dropped))
            by_language[language] = found - dropped


def fold_name(name: str) -> str:
    """A name as the matcher reads it: folded words, one space apart ("ደቡብ፡ኮሪያ" -> "ደቡብ ኮሪያ")."""
    return " ".join(map(fold, split_words(name)))


def drop_other_countries_names(names: dict, cldr: set) -> None:
    """FILTERS: a name that, as the matcher reads it, also names another country in any
    language ("ደቡብ ኮሪያ" is South Korea in Amharic, and Ge'ez's CLDR gives it for North
    Korea) stays only with the country most sources give it to: a CLDR name weighs 2, any
    other 1, and the winner needs twice the weight of each other claimant ("Samoa" stays
    with WS though Faroese gives it to AS; "Свети Мартин", Saint Martin in Bosnian and Sint
    Maarten in Macedonian, goes from both)."""
    weights: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, by_language in names.items():
        for language, found in by_language.items():
            for name in found:
                weights[fold_name(name)][code] += 2 if (code, language, name) in cldr else 1
    listed = {name for by in ABBREVIATIONS.values() for forms in by.values() for name in forms}
    for code, by_language in names.items():
        for language, found in by_language.items():
            def owned(name: str) -> bool:
                claims = weights[fold_name(name)]
                return name in listed or all(claims[code] >= 2 * weight for other, weight in claims.items() if other != code)
            dropped = {n for n in found if not owned(n)}
            DROPPED["names another country"].extend((code, language, n) for n in sorted(dropped))
            by_language[language] = found - dropped


def one_letter_apart(first: str, second: str) -> bool:
    """One letter replaced, added or removed."""
    if abs(len(first) - len(second)) > 1 or first == second:
        return False
    if len(first) == len(second):
        return sum(a != b for a, b in zip(first, second)) == 1
    short, long = sorted((first, second), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def drop_lookalikes(names: dict, cldr: set) -> None:
    """FILTERS: a name of several words from a translation (not CLDR) that is one letter
    away from another country's CLDR name in the same language, where the country's own
    CLDR name is not: a misspelt wrong name ("দক্ষিন কোৰিয়া", South Korea in Assamese, given
    for North Korea). Pairs that are that close in CLDR too ("Gambia"/"Zambia", Tatar
    "Төньяк Корея"/"Көньяк Корея") are left alone."""
    by_cldr: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))  # language -> code -> folded
    for code, language, name in cldr:
        by_cldr[language][code].add(fold_name(name))
    for code, by_language in names.items():
        for language, found in by_language.items():
            own = by_cldr[language].get(code, set())
            def lookalike(name: str) -> bool:
                folded = fold_name(name)
                if folded in own or " " not in folded:
                    return False
                return any(any(one_letter_apart(folded, theirs) for theirs in texts)
                           and not any(one_letter_apart(mine, theirs) for mine in own for theirs in texts)
                           for other, texts in by_cldr[language].items() if other != code)
            dropped = {n for n in found if lookalike(n)}
            DROPPED["one letter from another country's name"].extend((code, language, n) for n in sorted(dropped))
            by_language[language] = found - dropped


def filter_names(names: dict) -> dict[str, dict[str, list[str]]]:
    abbreviations = frozenset(form for by in ABBREVIATIONS.values() for forms in by.values() for form in forms)
    DROPPED["ambiguous or too short"].extend((code, language, n) for code, by_language in names.items()
                                             for language, found in by_language.items()
                                             for n in sorted(found) if not is_kept(n, language, abbreviations))
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
    drop_other_countries_names(names, cldr)
    drop_lookalikes(names, cldr)
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
    """JSON with each list joined into one string (names by tabs, forms by spaces): the pack
    is read on every start, and a few thousand strings are far less for the JSON parser to
    build than ninety thousand list items."""
    compact = dict(pack)
    compact["names"] = {code: {language: "\t".join(names) for language, names in by.items()} for code, by in pack["names"].items()}
    compact["forms"] = {word: " ".join(forms) for word, forms in pack["forms"].items()}
    return json.dumps(compact, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def print_dropped() -> None:
    """How many names each filter left out, with a few of them, for a look by eye."""
    for reason, entries in DROPPED.items():
        unique = sorted(set(entries))
        sample = ", ".join(f"{code} {language}: {name}" for code, language, name in unique[:: max(1, len(unique) // 6)][:6])
        print(f"  dropped, {reason}: {len(unique)} ({sample})", file=sys.stderr)


def main() -> None:
    pack = build_pack()
    print_dropped()
    text = serialise(pack)
    OUTPUT.write_text(text + "\n", encoding="utf-8")
    languages = {language for by in pack["names"].values() for language in by}
    print(f"{OUTPUT}: {len(pack['names'])} countries, {len(languages)} languages, "
          f"{sum(len(f) for f in pack['forms'].values()):,} inflected forms, {len(text.encode()) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
