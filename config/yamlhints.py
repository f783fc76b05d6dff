"""Find the line a YAML mistake starts on, and say what is wrong with it in plain words.

PyYAML notices a mistake where it gives up, often lines later (a stray text line at
line 16 reported at 22 as "expected '<document start>'"). When parsing failed, the lines up
to the one it gave up on are read again the way a person does: a tab in the indentation,
a line that is neither `key: value` nor a `- ` item, a line indented like none of its
neighbours. The first such line is the culprit; when there is none, PyYAML's own line and
message stand. Only called on a file PyYAML rejected: a hint never makes a valid file fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEY = re.compile(r"""^(?P<dash>(?:-\s+)*)(?:"[^"]*"|'[^']*'|[^\s#'"\[{][^#]*?)\s*:(?:\s+(?P<value>.*))?$""")
ITEM = re.compile(r"^-(?:\s+(?P<value>.*))?$")
BLOCK_SCALAR = re.compile(r"^[|>][-+0-9]*\s*(?:#.*)?$")


@dataclass(frozen=True)
class Culprit:
    line: int  # 1-based
    message: str


def find_culprit(text: str, last_line: int) -> Culprit | None:
    """The first line up to `last_line` (1-based, where the parser gave up) that is wrong."""
    levels = [0]  # the indentations of the open mappings and sequences, outermost first
    kinds: dict[int, str] = {}  # indentation -> "key" or "item": what the open block at it holds
    opens_block = True  # the previous line ends in `key:` (a nested block may follow, deeper)
    scalar_above: int | None = None  # a block scalar (`key: |`) owns the lines deeper than this
    flow_depth = 0  # inside a [ ... ] or { ... } spanning lines
    for number, raw in enumerate(text.splitlines()[:last_line], start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if raw[indent:indent + 1] == "\t":
            return Culprit(number, f"a tab in the indentation: {raw.rstrip()!r}; YAML indents with spaces only")
        if scalar_above is not None and indent > scalar_above:
            continue
        scalar_above = None
        if flow_depth > 0:
            flow_depth += _brackets(stripped)
            continue
        line = stripped.split(" #")[0].rstrip()
        key, item = KEY.match(line), ITEM.match(line)
        if not key and not item:
            if not opens_block and indent > levels[-1]:
                continue  # a plain value running on from the line above
            return Culprit(number, f"a line that is not `key: value` or a `- ` item: {raw.strip()!r}; "
                                   "remove it or comment it out with #")
        if not _fits(indent, levels, opens_block):
            return Culprit(number, f"this line is not indented like its neighbours: {raw.rstrip()!r}; "
                                   "line it up with the keys of the same entry (spaces only)")
        while levels[-1] > indent:
            kinds.pop(levels.pop(), None)
        dash = (key.group("dash") if key else "") or ("- " if item else "")
        kind = "item" if dash else "key"
        if levels[-1] < indent:
            levels.append(indent)
            kinds[indent] = kind
        elif opens_block and dash:
            kinds[indent] = "any"  # `key:` then `- item` at the key's own indentation
        elif kinds.setdefault(indent, kind) not in (kind, "any"):
            return Culprit(number, f"a {'`- ` item' if dash else '`key: value`'} among "
                                   f"{'`key: value` lines' if dash else '`- ` items'} of the same indentation: "
                                   f"{raw.rstrip()!r}; indent it under the key it belongs to, or remove it")
        if dash:  # `- key: value`: the item's keys sit where `key` starts
            levels.append(indent + len(dash))
            kinds[indent + len(dash)] = "key" if key else "item"
        value = (key.group("value") if key else item.group("value")) or ""
        opens_block = not value.strip()
        if BLOCK_SCALAR.match(value.strip()):
            scalar_above = indent
        flow_depth = max(0, _brackets(value))
    return None


def _fits(indent: int, levels: list[int], opens_block: bool) -> bool:
    """Deeper than its parent after `key:`, else at the level of one of the open blocks."""
    return (opens_block and indent > levels[-1]) or indent in levels or (opens_block and indent == levels[-1])


def _brackets(text: str) -> int:
    """Brackets opened minus closed, outside quotes (a rough count: enough to skip a flow list)."""
    unquoted = re.sub(r""""[^"]*"|'[^']*'""", "", text)
    return sum(unquoted.count(c) for c in "[{") - sum(unquoted.count(c) for c in "]}")
