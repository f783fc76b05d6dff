"""Edit one rule of rules.yaml in place: its query, and new examples, nothing else.

`edit_rule(path, name, query, match=..., no_match=...)` replaces the rule's `query` value
and appends examples, as text splices at the positions the YAML parser reports for
those values. Everything outside the spliced spans (comments, order, quoting, blank
lines, every other rule) stays byte for byte, which a load-and-dump round trip (even
ruamel.yaml's) cannot promise. Block-style rules take examples in block style; a rule
written on one line as a flow mapping (`- {name: x, query: y}`) takes them in flow style.
The result is parsed again and checked before it replaces the file (atomically).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml


class RuleEditError(ValueError):
    """The rule cannot be edited in place (not found, or written in a shape we do not splice)."""


def edit_rule(path: Path, name: str, query: str, match: Sequence[str] = (), no_match: Sequence[str] = ()) -> None:
    """Write `query` into the rule called `name` and append the examples. A symlinked
    rules.yaml is edited where it lives; a file with CRLF line ends keeps them."""
    path = path.resolve()
    with open(path, encoding="utf-8", newline="") as file:
        raw = file.read()
    crlf = "\r\n" in raw
    text = raw.replace("\r\n", "\n") if crlf else raw
    item = find_rule_node(yaml.compose(text, Loader=yaml.SafeLoader), name, path)
    splices = [query_splice(item, query, path, name)]
    examples = {"match": [one_line(e) for e in match], "no_match": [one_line(e) for e in no_match]}
    if any(examples.values()):
        splices += examples_splices(text, item, examples, path, name)
    edited = apply_splices(text, splices)
    check_edit(edited, name, query, examples, path)
    write_atomically(path, edited.replace("\n", "\r\n") if crlf else edited)


def find_rule_node(root, name: str, path: Path) -> yaml.MappingNode:
    rules = value_of(root, "rules") if isinstance(root, yaml.MappingNode) else None
    for item in rules.value if isinstance(rules, yaml.SequenceNode) else ():
        name_node = value_of(item, "name") if isinstance(item, yaml.MappingNode) else None
        if isinstance(name_node, yaml.ScalarNode) and name_node.value == name:
            return item
    raise RuleEditError(f"{path}: no rule named {name!r}")


def value_of(mapping: yaml.MappingNode, key: str):
    return next((value for k, value in mapping.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def quote(text: str) -> str:
    """A single-quoted YAML scalar (the quote itself doubled)."""
    return "'" + text.replace("'", "''") + "'"


def one_line(text: str) -> str:
    return " ".join(text.split())


def query_splice(item: yaml.MappingNode, query: str, path: Path, name: str) -> tuple[int, int, str]:
    node = value_of(item, "query")
    if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
        raise RuleEditError(f"{path}:{item.start_mark.line + 1}: rule {name!r}: its query is not a one-line "
                            "value; write the suggested query by hand")
    return node.start_mark.index, node.end_mark.index, quote(one_line(query))


def examples_splices(text: str, item: yaml.MappingNode, examples: dict[str, list[str]], path: Path,
                     name: str) -> list[tuple[int, int | None, str]]:
    existing = value_of(item, "examples")
    if item.flow_style:
        if existing is not None:
            raise RuleEditError(f"{path}:{item.start_mark.line + 1}: rule {name!r} is a one-line mapping with "
                                "examples; add the new examples by hand")
        close = item.end_mark.index - 1
        flow = ", ".join(f"{kind}: [{', '.join(quote(e) for e in entries)}]"
                         for kind, entries in examples.items() if entries)
        return [(close, None, f", examples: {{{flow}}}")]
    indent = " " * item.value[0][0].start_mark.column
    if existing is None:
        lines = [f"{indent}examples:"] + block_entries(examples, indent + "  ")
        return [(line_end(text, last_scalar(item).end_mark.index), None, "\n" + "\n".join(lines))]
    if not isinstance(existing, yaml.MappingNode) or existing.flow_style:
        raise RuleEditError(f"{path}:{existing.start_mark.line + 1}: rule {name!r}: examples is not a block "
                            "mapping; add the new examples by hand")
    return extend_examples(text, existing, examples, path, name)


def extend_examples(text: str, existing: yaml.MappingNode, examples: dict[str, list[str]], path: Path,
                    name: str) -> list[tuple[int, int | None, str]]:
    """Append to the lists the rule has (block lists only); add the kinds it lacks after them."""
    splices, missing = [], {}
    for kind, entries in examples.items():
        node = value_of(existing, kind)
        if not entries:
            continue
        if node is None:
            missing[kind] = entries
            continue
        if not isinstance(node, yaml.SequenceNode) or node.flow_style or not node.value:
            raise RuleEditError(f"{path}:{node.start_mark.line + 1}: rule {name!r}: examples.{kind} is not a "
                                "block list; add the new examples by hand")
        last = node.value[-1]
        prefix = text[text.rfind("\n", 0, last.start_mark.index) + 1:last.start_mark.index]
        if not re.fullmatch(r" *- *", prefix):
            raise RuleEditError(f"{path}:{last.start_mark.line + 1}: rule {name!r}: unusual list layout; "
                                "add the new examples by hand")
        splices.append((line_end(text, last_scalar(node).end_mark.index), None,
                        "".join(f"\n{prefix}{quote(e)}" for e in entries)))
    if missing:
        indent = " " * existing.value[0][0].start_mark.column
        splices.append((line_end(text, last_scalar(existing).end_mark.index), None,
                        "\n" + "\n".join(block_entries(missing, indent))))
    return splices


def block_entries(examples: dict[str, list[str]], indent: str) -> list[str]:
    lines = []
    for kind, entries in examples.items():
        if entries:
            lines.append(f"{indent}{kind}:")
            lines += [f"{indent}  - {quote(entry)}" for entry in entries]
    return lines


def last_scalar(node):
    """The node's last scalar in document order (where its text ends)."""
    while not isinstance(node, yaml.ScalarNode):
        if not node.value:
            return node
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    return node


def line_end(text: str, index: int) -> int:
    """Where the line holding `index` ends (before its newline; a trailing comment stays on it)."""
    end = text.find("\n", index)
    return len(text) if end == -1 else end


def apply_splices(text: str, splices: list[tuple[int, int | None, str]]) -> str:
    """Each (start, end, new text) applied back to front; end None means insert at start (several
    inserts at one place come out in list order)."""
    ordered = sorted(enumerate(splices), key=lambda item: (item[1][0], item[0]), reverse=True)
    for start, end, new in (splice for _, splice in ordered):
        text = text[:start] + new + text[start if end is None else end:]
    return text


def check_edit(edited: str, name: str, query: str, examples: dict[str, list[str]], path: Path) -> None:
    """The edited text parses, and the rule reads back with the new query and examples."""
    try:
        data = yaml.safe_load(edited)
    except yaml.YAMLError as exc:
        raise RuleEditError(f"{path}: the edit would not parse ({exc}); the file was left as it was") from None
    rule = next(r for r in data["rules"] if isinstance(r, dict) and r.get("name") == name)
    written = rule.get("examples") or {}
    if rule.get("query") != one_line(query) or any(
            entries and list(written.get(kind) or [])[-len(entries):] != entries for kind, entries in examples.items()):
        raise RuleEditError(f"{path}: the edit did not read back as written; the file was left as it was")


def write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())  # the new file is on disk before it takes the old one's name
        status = path.stat()
        os.chmod(temporary, status.st_mode & 0o7777)
        try:
            os.chown(temporary, status.st_uid, status.st_gid)
        except PermissionError:  # not ours to give away: the file stays the editing user's
            pass
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
