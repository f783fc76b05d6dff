"""Read a YAML file into plain Python data plus the line of every value.

PyYAML's composed nodes know their line; we keep a map from each value's path
(`("rules", 2, "query")`) to its 1-based line, so a validation error found later can
still say `rules.yaml:14`. Duplicate keys, which PyYAML silently accepts, are errors.
libyaml composes the nodes when PyYAML has it, since composing is most of the work of
reading a long feeds.yaml and libyaml does it in C; its nodes and marks are the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.yamlhints import find_culprit

Path_ = tuple[str | int, ...]


class YamlProblem(Exception):
    """The file is not valid YAML, or repeats a key."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def read_yaml(path: Path) -> tuple[Any, dict[Path_, int]]:
    """Parse `path`; return (data, lines) where lines maps value paths to line numbers."""
    text = path.read_text(encoding="utf-8")
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        raise YamlProblem(*_describe(exc, text)) from None
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    return _to_python(node, (), lines, yaml.SafeLoader("")), lines


def _compose(text: str) -> yaml.Node | None:
    """libyaml's nodes when PyYAML has it; a file libyaml rejects is parsed again in Python,
    whose messages name the culprit ("found character '\\t'", "undefined alias 'y'")."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except yaml.MarkedYAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _describe(exc: yaml.MarkedYAMLError, text: str) -> tuple[int, str]:
    """The line where the mistake is, in plain words (`config.yamlhints`), else the line where
    the broken construct starts (PyYAML often notices on the next line) with its text."""
    problem = exc.problem_mark.line + 1 if exc.problem_mark else 1
    culprit = find_culprit(text, problem)
    if culprit is not None:
        return culprit.line, culprit.message
    start = exc.context_mark.line + 1 if exc.context_mark else problem
    message = f"invalid YAML: {exc.problem or exc}"
    if start != problem:
        message += f" ({exc.context} at line {start}; noticed at line {problem})"
    lines = text.splitlines()
    line = min(start, problem)
    if 0 < line <= len(lines) and lines[line - 1].strip():
        message += f": {lines[line - 1].strip()!r}"
    return line, message


def _to_python(node: yaml.Node, path: Path_, lines: dict[Path_, int], constructor: yaml.SafeLoader) -> Any:
    """`constructor` builds the scalars: one per file, since making a loader is costly and one serves every value."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        return _mapping_to_python(node, path, lines, constructor)
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, path + (i,), lines, constructor) for i, item in enumerate(node.value)]
    return _scalar(node, constructor)


STR_TAG = "tag:yaml.org,2002:str"


def _scalar(node: yaml.Node, constructor: yaml.SafeLoader) -> Any:
    """A string scalar is its text (what PyYAML's constructor returns for it, at a fraction of
    the cost: a 10,000-rule rules.yaml has 40,000 of them); other scalars go to the constructor."""
    if node.tag == STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value
    return constructor.construct_object(node, deep=True)


def _mapping_to_python(node: yaml.MappingNode, path: Path_, lines: dict[Path_, int],
                       constructor: yaml.SafeLoader) -> dict:
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = _scalar(key_node, constructor) if isinstance(key_node, yaml.ScalarNode) else constructor.construct_object(key_node)
        if key in result:
            raise YamlProblem(key_node.start_mark.line + 1, f"duplicate key {key!r}")
        result[key] = _to_python(value_node, path + (key,), lines, constructor)
        lines[path + (key,)] = key_node.start_mark.line + 1
    return result
