"""The matcher on real text: the seed article, the extraction-benchmark corpus, hostile input.

Real data lives in ../shared beside the repository; tests skip, naming the folder, when
it is absent.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pytest

from config.models import AliasGroup, RuleConfig
from matching import MatchInput, compile_rules

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED = SHARED / "seed" / "000_e334cefbcedd34fa.txt"
CORPUS = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"

# The same aliases and rules go into config/rules.yaml.
ALIASES = {
    "dprk": ("DPRK", "North Korea*", "Pyongyang", "Democratic People's Republic of Korea", "the North", "북한", "조선민주주의인민공화국"),
    "arms": ("arms", "weapon*", "missile*", "munition*", "ammunition", "shells", "launcher*", "military equipment"),
    "transfer": ("transfer*", "ship*", "suppl*", "provid*", "deliver*", "export*", "sale*", "sold", "deal*", "receiv*", "acquir*"),
}
DPRK_RULE = RuleConfig(name="dprk-arms-transfer", query="@dprk NEAR/15 @arms AND @transfer", content_hash="dprk1")
KPOP_RULE = RuleConfig(name="k-pop", query='"Stray Kids" OR K-pop OR "world tour"', content_hash="kpop1")

# Paragraphs of the seed article about North Korea's arms transfer to Russia (by opening words).
TRANSFER_PARAGRAPHS = (
    "On Oct. 13, Kirby said",
    "The U.S. view is that the North is supplying arms",
    "South Korea called on Russia to stop shipping arms",
    "“It is self-contradictory for Russia",
    "Citing recently declassified intelligence",
    "National Security Advisor for Strategic Communications",
    "“Our information indicates",
    "Both Pyongyang and Moscow have denied",
    "“The United States will continue to work with allies",
)


def shared_file(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found: {path.parent} (put ../shared beside the repository)")
    return path


@pytest.fixture(scope="module")
def seed_lines() -> list[str]:
    return shared_file(SEED).read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def ruleset():
    aliases = {name: AliasGroup(name, entries) for name, entries in ALIASES.items()}
    return compile_rules([DPRK_RULE, KPOP_RULE], aliases)


def rules_hit(ruleset, title: str, body: str) -> list[str]:
    return [match.rule for match in ruleset.match(MatchInput(title=title, body=body))]


def test_dprk_rule_matches_the_seed_article_and_explains_why(ruleset, seed_lines: list[str]) -> None:
    title, body = seed_lines[0], "\n".join(seed_lines[1:])
    [match] = [m for m in ruleset.match(MatchInput(title=title, body=body)) if m.rule == DPRK_RULE.name]
    assert match.rule_hash == "dprk1"
    assert {"North Korea", "provided", "munitions", "Democratic People’s Republic of Korea"} <= set(match.terms)
    assert match.fields == ("title", "body")
    assert match.snippet.startswith("South Korea called on Russia to stop shipping arms from North Korea")
    assert [match.snippet[a:b] for a, b in match.marks][:3] == ["shipping", "arms", "North Korea"]
    assert len(match.snippet) <= 402


@pytest.mark.parametrize("opening", TRANSFER_PARAGRAPHS)
def test_dprk_rule_matches_each_arms_transfer_paragraph(ruleset, seed_lines: list[str], opening: str) -> None:
    [paragraph] = [line for line in seed_lines if line.startswith(opening)][:1]
    assert DPRK_RULE.name in rules_hit(ruleset, "", paragraph)


def test_dprk_rule_ignores_the_headline_list_and_portal_chrome(ruleset, seed_lines: list[str]) -> None:
    headlines = [line for line in seed_lines if line.startswith("- ")]
    chrome = [line for line in seed_lines if re.search("[가-힣]", line)]
    assert len(headlines) == 10 and len(chrome) == 4
    for line in headlines + chrome:
        assert DPRK_RULE.name not in rules_hit(ruleset, "", line), line
    assert DPRK_RULE.name not in rules_hit(ruleset, "", "\n".join(headlines))


def test_kpop_rule_hits_the_headline_lines_so_chrome_must_go_upstream(ruleset, seed_lines: list[str]) -> None:
    headlines = [line for line in seed_lines if line.startswith("- ")]
    hit = [line for line in headlines if KPOP_RULE.name in rules_hit(ruleset, "", line)]
    assert hit == [
        "- Stray Kids to drop two albums, hold third world tour in 2024",
        "- Stray Kids' Felix donates 100 million won to Laotian children",
    ]
    article_only = "\n".join(line for line in seed_lines[1:] if not line.startswith("- "))
    assert KPOP_RULE.name not in rules_hit(ruleset, seed_lines[0], article_only)
    assert KPOP_RULE.name in rules_hit(ruleset, seed_lines[0], "\n".join(seed_lines[1:]))


def test_the_prefilter_never_changes_an_answer_on_the_corpus() -> None:
    texts = [entry["articleBody"] for entry in json.loads(shared_file(CORPUS).read_text(encoding="utf-8")).values()]
    rng = random.Random(3)
    words = sorted({w for text in texts for w in re.findall(r"[A-Za-z]{5,}", text.lower())})
    aliases = {f"a{i}": AliasGroup(f"a{i}", tuple(rng.sample(words, 4))) for i in range(10)}
    shapes = [
        "{0} OR {1}", "{0} AND {1}", "{0} NOT {1}", '"{0} {1}" OR {2}*', "{0} NEAR/8 ({1} OR {2})",
        "@a{3} AND {0}", "NOT {0}", "title:({0}) OR body:({1} NEAR/3 {2})", "ATLEAST/2 {0}", "(NOT {0}) AND {1}",
    ]
    rules = [
        RuleConfig(name=f"r{i}", query=rng.choice(shapes).format(*rng.sample(words, 3), rng.randrange(10)))
        for i in range(400)
    ]
    ruleset = compile_rules(rules, aliases)
    total = 0
    for text in texts:
        document = MatchInput(title=text[:80], body=text[80:])
        fast = ruleset.match(document)
        assert fast == ruleset.match_every_rule(document)
        total += len(fast)
    assert total > len(texts)  # the rules do hit, so the comparison means something


HOSTILE = {
    "1 MB of one repeated word": "missile " * 131_072,
    "1 MB without a space": "a" * (1 << 20),
    "deeply nested brackets": "(" * 500_000 + "missile" + ")" * 500_000,
    "deeply nested markup": "<div><span>" * 95_000,
    "a run of dots": "." * 1_000_000 + " missile",
    "a run of combining marks": "e" + "\u0301" * 500_000,
}


@pytest.mark.parametrize("label", sorted(HOSTILE))
def test_hostile_documents_are_matched_quickly(label: str) -> None:
    ruleset = compile_rules([RuleConfig(name="m", query="missile"),
                             RuleConfig(name="n", query='"missile missile" NEAR/3 missile*')], {})
    started = time.process_time()
    found = ruleset.match(MatchInput(title="", body=HOSTILE[label]))
    # CPU seconds, not wall time, so other work on the machine cannot fail it: a catastrophic
    # (super-linear) path on 1 MB would take minutes; bench/matching.py measures the 100 ms goal
    assert time.process_time() - started < 10.0
    assert all(len(match.snippet) <= 402 for match in found)
    assert ("missile" in HOSTILE[label]) == bool(found)


def test_a_rule_with_a_500_entry_alias_is_matched_quickly() -> None:
    aliases = {"big": AliasGroup("big", tuple(f"entity{i} name{i}*" for i in range(499)) + ("Pyongyang",))}
    ruleset = compile_rules([RuleConfig(name="big", query="@big AND NOT zebra")], aliases)
    body = "Entity7 name7s arrived. " + "Officials in Pyongyang said. " * 200
    started = time.process_time()
    [match] = ruleset.match(MatchInput(title="", body=body))
    assert time.process_time() - started < 10.0  # CPU seconds; the bench measures the 100 ms goal
    assert match.terms == ("Entity7 name7s", "Pyongyang")
