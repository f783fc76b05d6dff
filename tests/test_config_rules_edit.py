"""config.rules_edit: one rule's query and new examples spliced into rules.yaml; every other byte
stays, in each way a user writes a rule (block or one-line flow mapping, with or without
examples), and a shape it cannot splice is refused with the file left as it was."""

from __future__ import annotations

import pytest

from config.rules_edit import RuleEditError, edit_rule

SOURCE = """# top comment
rules:
  - name: A   # the first
    query: 'missile*'   # q comment
    channels: [x]
  # between
  - name: B
    query: "drone"
    examples:
      match:
        - a drone flew
      # c
  - {name: C, query: 'x OR y'}
  - name: D
    query: |
      block
# end
"""


def edited(tmp_path, *args) -> str:
    path = tmp_path / "rules.yaml"
    path.write_text(SOURCE)
    edit_rule(path, *args)
    return path.read_text()


def test_a_block_rule_without_examples_gets_query_and_examples(tmp_path):
    text = edited(tmp_path, "A", "(missile* OR rocket) NOT launch", ["a rocket's fire"], ["launch it"])
    assert text == SOURCE.replace("query: 'missile*'", "query: '(missile* OR rocket) NOT launch'").replace(
        "    channels: [x]\n",
        "    channels: [x]\n    examples:\n      match:\n        - 'a rocket''s fire'\n"
        "      no_match:\n        - 'launch it'\n")


def test_examples_are_appended_to_an_existing_list_and_a_missing_kind_added(tmp_path):
    text = edited(tmp_path, "B", "drone OR uav", ["uav seen"], ["no"])
    assert text == SOURCE.replace('query: "drone"', "query: 'drone OR uav'").replace(
        "        - a drone flew\n", "        - a drone flew\n        - 'uav seen'\n      no_match:\n        - 'no'\n")


def test_a_one_line_flow_rule_gets_flow_examples(tmp_path):
    text = edited(tmp_path, "C", "x", ["x marks"])
    assert text == SOURCE.replace("{name: C, query: 'x OR y'}", "{name: C, query: 'x', examples: {match: ['x marks']}}")


def test_unspliceable_shapes_and_unknown_rules_leave_the_file(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(SOURCE)
    with pytest.raises(RuleEditError, match="not a one-line value"):
        edit_rule(path, "D", "other")
    with pytest.raises(RuleEditError, match="no rule named 'Z'"):
        edit_rule(path, "Z", "other")
    assert path.read_text() == SOURCE


def test_a_symlinked_crlf_file_is_edited_where_it_lives_with_its_line_ends(tmp_path):
    """Dotfile setups link rules.yaml from elsewhere, and Windows editors write CRLF: the link stays
    a link to the edited file, and every line keeps its CRLF."""
    real = tmp_path / "dotfiles" / "rules.yaml"
    real.parent.mkdir()
    real.write_bytes(SOURCE.replace("\n", "\r\n").encode())
    link = tmp_path / "config" / "rules.yaml"
    link.parent.mkdir()
    link.symlink_to(real)

    edit_rule(link, "A", "missile* OR rocket", ["a rocket flew"])

    assert link.is_symlink() and link.resolve() == real
    expected = SOURCE.replace("query: 'missile*'", "query: 'missile* OR rocket'").replace(
        "    channels: [x]\n", "    channels: [x]\n    examples:\n      match:\n        - 'a rocket flew'\n")
    assert real.read_bytes() == expected.replace("\n", "\r\n").encode()
