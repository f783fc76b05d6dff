"""Keep what is valid of a config file that has problems, so `check` can go on checking it.

A file whose YAML parses but has field problems is not thrown away whole: a wrong field of a
rule, feed or channel is left out (its default stands in, so the rest of the entry, e.g. a
rule's channels and query, is still checked); an entry that cannot stand without it is left out, and so is each setting that has one (its default
stands in; an alias keeps the names it has, so the queries using it are still checked); the rest is validated again and goes on to the checks that span files,
the queries and the secrets. So one `check` lists every problem, not one round per file.
A salvaged file is for reporting only: any problem still makes `run` refuse the config.

The entries of a list keep their place in the file: `positions` maps each kept entry's new
index to its index in the file, and the line map is renumbered to match, so a problem found
later still reads `rules[3]` at the line of the fourth rule.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

LISTS = ("rules", "feeds")  # entries by position
MAPPINGS = ("channels", "aliases")  # entries by name
MAX_ROUNDS = 5  # leaving an entry out can only remove problems; a few rounds settle it


@dataclass
class Salvaged:
    model: BaseModel
    lines: dict
    positions: dict[str, tuple[int, ...]] = field(default_factory=dict)  # "rules" -> file index of each kept rule
    left_out: dict[str, set[str]] = field(default_factory=dict)  # "channels" -> names left out for problems


def salvage(data: dict, model: type[BaseModel], errors: list[Mapping[str, Any]], lines: dict) -> Salvaged | None:
    """The model of what is valid in `data`, or None when nothing sensible is left."""
    data = copy.deepcopy(data)
    dropped: dict[str, set] = {}
    for _ in range(MAX_ROUNDS):
        for error in errors:
            _leave_out(data, tuple(error["loc"]), dropped)
        kept = {name: [item for i, item in enumerate(data[name]) if i not in dropped.get(name, ())]
                for name in LISTS if isinstance(data.get(name), list)}
        try:
            parsed = model.model_validate({**data, **kept})
        except ValidationError as exc:
            errors = _in_file_positions(exc.errors(), data, dropped)
            continue
        positions = {name: tuple(i for i in range(len(data[name])) if i not in dropped.get(name, ()))
                     for name in kept}
        left_out = {name: {str(key) for key in keys} for name, keys in dropped.items() if name in MAPPINGS}
        return Salvaged(parsed, _renumber(lines, positions), positions, left_out)
    return None


def _remove_field(entries, key, name) -> bool:
    """Remove field `name` of entry `key` (a list index or a mapping key); whether it was there.
    A field that is missing (a required one) is not there: then the whole entry is left out."""
    if isinstance(entries, list) and isinstance(key, int) and 0 <= key < len(entries):
        entry = entries[key]
    elif isinstance(entries, dict):
        entry = entries.get(key)
    else:
        return False
    if isinstance(entry, dict) and name in entry:
        del entry[name]
        return True
    return False


def _leave_out(data: dict, loc: tuple, dropped: dict[str, set]) -> None:
    """Mark the entry at `loc` left out (a list item, a named channel or alias), else remove
    the setting at `loc` (its default stands in)."""
    if len(loc) >= 2 and loc[0] == "aliases" and isinstance(data.get("aliases"), dict):
        data["aliases"][loc[1]] = _as_entries(data["aliases"].get(loc[1]))  # still defined for the queries
        return
    if len(loc) >= 3 and loc[0] in LISTS + MAPPINGS and _remove_field(data.get(loc[0]), loc[1], loc[2]):
        return  # a wrong field of an entry: its default stands in, and the rest of the entry is still checked
    if len(loc) >= 2 and loc[0] in LISTS + MAPPINGS:
        dropped.setdefault(loc[0], set()).add(loc[1])
        if loc[0] in MAPPINGS and isinstance(data.get(loc[0]), dict):
            data[loc[0]].pop(loc[1], None)
        return
    if len(loc) == 1 and loc[0] in LISTS:
        data[loc[0]] = []  # missing, or not a list: no entries
        return
    parent = data
    for part in loc[:-1]:
        if not isinstance(parent, dict) or not isinstance(parent.get(part), dict):
            break
        parent = parent[part]
    else:
        if isinstance(parent, dict):
            parent.pop(loc[-1], None) if loc else None
        return
    data.pop(loc[0], None)


def _as_entries(value: Any) -> list[str]:
    """An alias written as one name, or with numbers among its names, as a list of names."""
    values = value if isinstance(value, list) else [value]
    return [str(item) for item in values if isinstance(item, (str, int, float)) and not isinstance(item, bool)]


def _in_file_positions(errors: list, data: dict, dropped: dict[str, set]) -> list:
    """Errors of the kept entries, with their index turned back into the file's."""
    result = []
    for error in errors:
        loc = tuple(error["loc"])
        if len(loc) >= 2 and loc[0] in LISTS and isinstance(loc[1], int):
            kept = [i for i in range(len(data[loc[0]])) if i not in dropped.get(loc[0], ())]
            loc = (loc[0], kept[loc[1]], *loc[2:])
        result.append({**error, "loc": loc})
    return result


def _renumber(lines: dict, positions: dict[str, tuple[int, ...]]) -> dict:
    """The line map with each kept entry under its new index (its lines are the file's)."""
    new_index = {name: {old: new for new, old in enumerate(kept)} for name, kept in positions.items()}
    result = {}
    for path, line in lines.items():
        if len(path) >= 2 and path[0] in new_index:
            if path[1] not in new_index[path[0]]:
                continue
            path = (path[0], new_index[path[0]][path[1]], *path[2:])
        result[path] = line
    return result
