"""Built-in name packs: `@country:KP` stands for that country's names in every language.

A pack is a generated JSON file shipped in `matching/packs/` (`country.json`, made by
`matching/packs/build_country_pack.py` at release; nothing is fetched at run time). It
holds, per key, the names per language (`names`, joined by tabs), and one table of
inflected forms (`forms`: a folded name word -> its other folded forms joined by
spaces, "россия" -> "россии россию ..."); lists are split only when used.

`@pack:KEY` in a query expands to the pack's names for KEY plus the entries of an alias
group named `pack:KEY` in rules.yaml (the user's own names); a pack that is not built in
exists only through such alias groups (`@company:acme`). Keys of built-in packs are
case-insensitive ("kp" is "KP"). A pack is read on first use and kept until
`release_name_packs()`: a pass, which compiles its rules once, lets it go afterwards (a
pack's few MB of names are only needed to compile).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from config.models import AliasGroup

PACK_DIR = Path(__file__).with_name("packs")
BUILTIN_PACKS = ("country",)


class PackError(ValueError):
    """A pack reference that names no known pack or key; the message says what to write."""


@dataclass(frozen=True)
class Pack:
    name: str
    names: Mapping[str, Mapping[str, str]]  # key -> language -> names as written, joined by tabs
    forms: Mapping[str, str]  # folded word -> other folded forms, joined by spaces

    def names_of(self, key: str) -> dict[str, list[str]] | None:
        """Language -> names of one key, or None for an unknown key."""
        found = self.names.get(key)
        return None if found is None else {language: names.split("\t") for language, names in found.items()}


@dataclass(frozen=True)
class Expansion:
    """What one `@pack:KEY` stands for: names per language, and the user's own entries."""

    reference: str
    names: Mapping[str, list[str]]
    custom: tuple[str, ...]

    def entries(self) -> list[str]:
        """Every name once (by text), built-in names first, in language order."""
        seen = dict.fromkeys(name for names in self.names.values() for name in names)
        seen.update(dict.fromkeys(self.custom))
        return list(seen)


def split_reference(name: str) -> tuple[str, str] | None:
    """'country:KP' -> ('country', 'KP'); None for a plain alias name."""
    pack, colon, key = name.partition(":")
    return (pack, key) if colon else None


@lru_cache(maxsize=None)
def load_pack(name: str) -> Pack:
    """A built-in pack, read once per process."""
    data = json.loads((PACK_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return Pack(name, data["names"], data["forms"])


@lru_cache(maxsize=1)
def builtin_forms() -> Mapping[str, str]:
    """Inflected forms of every built-in pack's name words, merged (word -> forms joined
    by spaces)."""
    if len(BUILTIN_PACKS) == 1:
        return load_pack(BUILTIN_PACKS[0]).forms
    merged: dict[str, str] = {}
    for name in BUILTIN_PACKS:
        for word, forms in load_pack(name).forms.items():
            merged[word] = " ".join(sorted(set(merged.get(word, "").split()) | set(forms.split())))
    return merged


def release_name_packs() -> None:
    """Drop the packs read so far; the next compile that needs one reads it again."""
    builtin_forms.cache_clear()
    load_pack.cache_clear()


def expand_reference(name: str, aliases: Mapping[str, AliasGroup]) -> Expansion:
    """The names behind `@name` ('country:KP'); raises PackError when it names nothing."""
    pack_name, key = split_reference(name) or ("", "")
    custom = aliases.get(name)
    if pack_name in BUILTIN_PACKS:
        pack = load_pack(pack_name)
        names = pack.names_of(key.upper())
        if names is None and custom is None:
            raise PackError(f"@{name}: the {pack_name} pack has no key {key!r}; "
                            f"use an ISO 3166-1 alpha-2 code, as in @{pack_name}:KP")
        custom = custom or aliases.get(f"{pack_name}:{key.upper()}")
        return Expansion(f"@{pack_name}:{key.upper()}", names or {}, custom.entries if custom else ())
    if custom is None:
        known = ", ".join(f"@{p}:KEY" for p in BUILTIN_PACKS)
        raise PackError(f"unknown pack @{pack_name}: built in are {known}; "
                        f"for a pack of your own, define an alias named '{name}' under aliases:")
    return Expansion(f"@{name}", {}, custom.entries)


def describe_reference(name: str, aliases: Mapping[str, AliasGroup]) -> dict:
    """What `newswatch rules explain @name` shows: names per language, the user's own
    entries, and the inflected forms of their words (keys are a public contract)."""
    from matching.tokens import fold_word, split_words

    if split_reference(name) is None:
        group = aliases.get(name)
        if group is None:
            raise PackError(f"unknown alias @{name}; define it under aliases: or name a pack, as in @country:KP")
        expansion = Expansion(f"@{name}", {}, group.entries)
    else:
        expansion = expand_reference(name, aliases)
    forms = builtin_forms()
    words = dict.fromkeys(fold_word(word) for entry in expansion.entries() for word in split_words(entry))
    return {
        "reference": expansion.reference,
        "languages": {language: list(names) for language, names in sorted(expansion.names.items())},
        "custom": list(expansion.custom),
        "forms": {word: forms[word].split() for word in words if word in forms},
        "language_count": len(expansion.names),
        "name_count": len(expansion.entries()),
    }
