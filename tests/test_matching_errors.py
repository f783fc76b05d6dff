"""Every way a watch rule can be wrong: one QueryError each, with rule, column and caret."""

from __future__ import annotations

import pytest

from config.models import AliasGroup, RuleConfig, Source
from matching import MAX_EXPANDED_TERMS, MAX_QUERY_CHARS, QueryError, QueryErrors, check_rules, compile_rules

ALIASES = {
    "dprk": AliasGroup("dprk", ("DPRK", "North Korea*")),
    "empty": AliasGroup("empty", (), Source("rules.yaml", 7)),
    "broken": AliasGroup("broken", ("North (Korea",), Source("rules.yaml", 9)),
}


def only_error(query: str) -> QueryError:
    [error] = check_rules([RuleConfig(name="my rule", query=query)], ALIASES)
    return error


@pytest.mark.parametrize(
    ("query", "column", "words"),
    [
        ("(missile OR rocket", 1, "never closed"),
        ("missile AND (rocket OR (test)", 13, "never closed"),
        ("missile) AND rocket", 8, "unmatched ')'"),
        ("()", 1, "empty parentheses"),
        ("missile AND", 9, "'AND' has nothing after it"),
        ("missile OR OR rocket", 9, "'OR' has nothing after it"),
        ("OR missile", 1, "'OR' has nothing before it"),
        ("missile NOT", 9, "'NOT' has nothing after it"),
        ("(missile AND) rocket", 10, "'AND' has nothing after it"),
        ("missile NEAR/3", 9, "'NEAR/3' has nothing after it"),
        ("missile NEAR launch", 9, "NEAR needs a number"),
        ("missile NEAR/ launch", 9, "NEAR needs a number"),
        ("missile NEAR/1001 launch", 9, "between 1 and 1000"),
        ("ATLEAST missile", 1, "ATLEAST needs a number"),
        ("ATLEAST/0 missile", 1, "between 1 and 1000"),
        ("missile NEAR/3 NOT launch", 16, "NOT cannot come right after 'NEAR/3'"),
        ("title:NOT launch", 7, "NOT cannot come right after 'title'"),
        ("(a AND b) NEAR/3 launch", 2, "NEAR/3 needs a word, phrase, @alias"),
        ("ATLEAST/2 (a AND b)", 12, "ATLEAST/2 counts a word"),
        ("missile AND @nope", 13, "unknown alias @nope"),
        ("missile AND @empty", 13, "alias group @empty is empty"),
        ("@broken", 1, "alias @broken (rules.yaml:9), entry 'North (Korea'"),
        ('missile "ballistic', 9, "quote is never closed"),
        ("*missile", 1, "'*' only goes at the end of a word"),
        ("mis*le", 4, "'*' only goes at the end of a word"),
        ("missile**", 9, "'*' only goes at the end of a word"),
        ("missile AND ---", 13, "no letters or digits"),
        ("url:(missile)", 1, "unknown field 'url:'"),
        ("missile @", 9, "is not an alias name"),
        ("   ", 1, "the query is empty"),
    ],
)
def test_each_problem_names_the_rule_and_the_column(query: str, column: int, words: str) -> None:
    error = only_error(query)
    assert error.rule == "my rule"
    assert words in error.message
    assert error.column == column


def test_caret_line_puts_a_caret_under_the_column() -> None:
    error = only_error("missile AND (rocket OR test")
    assert error.caret_line() == "missile AND (rocket OR test\n            ^"


def test_caret_line_shows_only_the_line_of_a_multi_line_query() -> None:
    error = only_error("missile AND\n(rocket OR\n test")
    assert error.column == 13
    assert error.caret_line() == "(rocket OR\n^"


def test_errors_carry_the_query_source_for_the_config_file() -> None:
    rule = RuleConfig(name="r", query="a AND", query_source=Source("config/rules.yaml", 12))
    [error] = check_rules([rule], {})
    assert error.source == Source("config/rules.yaml", 12)
    assert str(error).startswith("config/rules.yaml:12: rule 'r', column 3:")


def test_duplicate_rule_names_are_reported_on_the_second() -> None:
    rules = [
        RuleConfig(name="same", query="a", source=Source("rules.yaml", 3)),
        RuleConfig(name="same", query="b"),
    ]
    [error] = check_rules(rules, {})
    assert error.rule == "same"
    assert "already named 'same' at rules.yaml:3" in error.message


def test_check_rules_collects_every_problem_and_compile_raises_them_as_a_group() -> None:
    rules = [
        RuleConfig(name="good", query="missile"),
        RuleConfig(name="bad1", query="a AND"),
        RuleConfig(name="bad2", query="@nope OR @empty"),
    ]
    errors = check_rules(rules, ALIASES)
    assert [(e.rule, e.column) for e in errors] == [("bad1", 3), ("bad2", 1), ("bad2", 10)]
    with pytest.raises(QueryErrors) as raised:
        compile_rules(rules, ALIASES)
    assert [str(e) for e in raised.value.errors] == [str(e) for e in errors]
    assert isinstance(raised.value, QueryError)
    assert "3 problems" in str(raised.value)


def test_compile_raises_a_single_query_error_when_there_is_one() -> None:
    with pytest.raises(QueryError) as raised:
        compile_rules([RuleConfig(name="r", query="(a")], {})
    assert not isinstance(raised.value, QueryErrors)
    assert raised.value.column == 1


def test_valid_rules_produce_no_errors() -> None:
    assert check_rules([RuleConfig(name="r", query='@dprk NEAR/5 "ballistic missile*" AND NOT test')], ALIASES) == []


# size limits


def test_a_query_over_the_length_limit_is_refused() -> None:
    error = only_error("missile OR " * (MAX_QUERY_CHARS // 10) + "rocket")
    assert f"the limit is {MAX_QUERY_CHARS:,}" in error.message
    assert error.column == MAX_QUERY_CHARS + 1


def test_an_alias_expansion_over_the_term_limit_is_refused() -> None:
    big = {"big": AliasGroup("big", tuple(f"word{i}" for i in range(MAX_EXPANDED_TERMS // 4 + 1)))}
    query = "@big OR @big OR @big OR @big"
    [error] = check_rules([RuleConfig(name="r", query=query)], big)
    assert f"expands to {MAX_EXPANDED_TERMS + 4:,} words and phrases" in error.message
    assert check_rules([RuleConfig(name="r", query="@big OR @big OR @big")], big) == []


def test_deep_nesting_is_refused_without_a_recursion_error() -> None:
    error = only_error("(" * 60 + "missile" + ")" * 60)
    assert "nests deeper than 50" in error.message
    assert error.column == 51
    assert "nests deeper" in only_error("NOT " * 200 + "missile").message
