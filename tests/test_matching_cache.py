"""Rules are compiled once per process, and read from a cache file by the next process.

The cache is only a shortcut: a rule set read back matches exactly as a fresh compile does,
an edited rule never meets a stale file, and an unreadable or foreign file, or a directory
that cannot be written, is the same as no cache at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config.models import AliasGroup, RuleConfig
from matching import MatchInput, check_rules, compile_rules
from matching.cache import PREFIX, SUFFIX, cache_key, cache_path
from matching.compiler import forget_compiled

ALIASES = {"dprk": AliasGroup("dprk", ("DPRK", "North Korea*", "Pyongyang", "북한"))}
RULES = (
    RuleConfig(name="korea", query="@dprk AND missile*", content_hash="h1"),
    RuleConfig(name="near", query='"ballistic missile" NEAR/5 launch*', content_hash="h2"),
    RuleConfig(name="pack", query="@country:RU AND (gas OR oil)", content_hash="h3"),
    RuleConfig(name="cjk", query="北朝鲜 OR 朝鲜", content_hash="h4"),
    RuleConfig(name="negative", query="NOT football", content_hash="h5"),
    RuleConfig(name="title", query="title:(summit) OR ATLEAST/2 sanctions", content_hash="h6"),
)
DOCUMENTS = [
    MatchInput("Pyongyang fires missiles", "North Korean media said the missile launch was a success."),
    MatchInput("Test", "A ballistic missile was seen shortly before the launches began."),
    MatchInput("Gas deal", "Россия и Китай подписали договор: gas flows east from Russia."),
    MatchInput("朝鲜", "朝鲜向俄罗斯提供武器"),
    MatchInput("Summit", "Sanctions, and more sanctions, on football clubs."),
]


def answers(ruleset) -> list[list[tuple]]:
    return [[(m.rule, m.terms, m.fields, m.snippet, m.marks) for m in ruleset.match(doc)] for doc in DOCUMENTS]


@pytest.fixture(autouse=True)
def fresh_process():
    """Each test starts as a new process would: nothing compiled yet."""
    forget_compiled()
    yield
    forget_compiled()


def test_the_same_rules_are_compiled_once_per_process() -> None:
    assert check_rules(RULES, ALIASES) == []
    first = compile_rules(RULES, ALIASES)
    again = compile_rules(list(RULES), dict(ALIASES))  # equal rules, other containers: the same compiled rules
    assert [rule.root for rule in again.rules] == [rule.root for rule in first.rules]
    assert all(a.root is b.root for a, b in zip(again.rules, first.rules))
    assert again is not first  # each caller matches with its own RuleSet (threads may match at once)
    assert answers(again) == answers(first)
    changed = compile_rules(RULES[:-1] + (RuleConfig(name="title", query="summit", content_hash="h7"),), ALIASES)
    assert changed.rules[-1].root is not first.rules[-1].root
    assert not any(a.root is b.root for a, b in zip(changed.rules, first.rules))  # other rules: compiled anew


def test_a_rule_set_read_from_the_cache_matches_as_a_fresh_compile(tmp_path: Path) -> None:
    fresh = answers(compile_rules(RULES, ALIASES))
    assert any(fresh) and all(fresh[:4])
    forget_compiled()
    compile_rules(RULES, ALIASES, cache_dir=tmp_path)  # compiles and writes
    assert cache_path(tmp_path, cache_key(RULES, ALIASES)).is_file()
    forget_compiled()
    cached = compile_rules(RULES, ALIASES, cache_dir=tmp_path)  # reads
    assert answers(cached) == fresh
    assert [rule.config for rule in cached.rules] == list(RULES)


def test_an_edited_rule_or_alias_never_meets_a_stale_cache(tmp_path: Path) -> None:
    compile_rules(RULES, ALIASES, cache_dir=tmp_path)
    forget_compiled()
    edited = (RuleConfig(name="korea", query="@dprk AND rocket*", content_hash="h9"),) + RULES[1:]
    assert cache_key(edited, ALIASES) != cache_key(RULES, ALIASES)
    other_aliases = {"dprk": AliasGroup("dprk", ("Pyongyang",))}
    assert cache_key(RULES, other_aliases) != cache_key(RULES, ALIASES)
    ruleset = compile_rules(edited, ALIASES, cache_dir=tmp_path)
    assert "korea" not in [m.rule for m in ruleset.match(DOCUMENTS[0])]  # "missiles" is no "rocket"
    assert len(list(tmp_path.glob(f"{PREFIX}*{SUFFIX}"))) == 2


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"\x80\x05garbage"])
def test_an_unreadable_cache_file_counts_as_no_cache(tmp_path: Path, content: bytes) -> None:
    fresh = answers(compile_rules(RULES, ALIASES))
    forget_compiled()
    cache_path(tmp_path, cache_key(RULES, ALIASES)).write_bytes(content)
    assert answers(compile_rules(RULES, ALIASES, cache_dir=tmp_path)) == fresh


def test_a_cache_file_written_for_other_rules_is_not_used(tmp_path: Path) -> None:
    """A file is used only when it names the very key asked for (a renamed or copied file is not)."""
    other = (RuleConfig(name="korea", query="football", content_hash="h8"),)
    compile_rules(other, {}, cache_dir=tmp_path)
    forget_compiled()
    os.replace(cache_path(tmp_path, cache_key(other, {})), cache_path(tmp_path, cache_key(RULES, ALIASES)))
    assert answers(compile_rules(RULES, ALIASES, cache_dir=tmp_path)) == answers(compile_rules(RULES, ALIASES))


def test_a_directory_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be")
    ruleset = compile_rules(RULES, ALIASES, cache_dir=blocked / "cache")
    assert ruleset.match(DOCUMENTS[0])


def test_the_cache_never_creates_the_data_directory(tmp_path: Path) -> None:
    """Before the first run there is no data directory, and a `check` must not start one."""
    compile_rules(RULES, ALIASES, cache_dir=tmp_path / "data" / "cache")
    assert not (tmp_path / "data").exists()


def test_rules_with_problems_are_reported_every_time_and_never_cached(tmp_path: Path) -> None:
    broken = RULES + (RuleConfig(name="broken", query="missile AND (", content_hash="h0"),)
    assert [e.rule for e in check_rules(broken, ALIASES, cache_dir=tmp_path)] == ["broken"]
    forget_compiled()
    assert [e.rule for e in check_rules(broken, ALIASES, cache_dir=tmp_path)] == ["broken"]
    assert not list(tmp_path.glob(f"{PREFIX}*"))
