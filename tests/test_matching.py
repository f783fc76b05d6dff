"""The watch-rule language, construct by construct, through the public API only."""

from __future__ import annotations

import pytest

from config.models import AliasGroup, RuleConfig
from matching import MatchInput, RuleMatch, compile_rules

ALIASES = {
    "dprk": AliasGroup("dprk", ("DPRK", "North Korea*", "Pyongyang", "Democratic People's Republic of Korea", "the North", "북한")),
    "arms": AliasGroup("arms", ("missile*", "shells", '"rocket launcher*"')),
}


def hits(query: str, body: str = "", title: str = "", **rule: object) -> list[RuleMatch]:
    ruleset = compile_rules([RuleConfig(name="r", query=query, content_hash="h1", **rule)], ALIASES)
    return ruleset.match(MatchInput(title=title, body=body))


def matches(query: str, body: str = "", title: str = "") -> bool:
    return bool(hits(query, body, title))


def marked(match: RuleMatch) -> list[str]:
    return [match.snippet[start:end] for start, end in match.marks]


# words, wildcards, phrases


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        ("missile", "A Missile was fired.", True),
        ("missile", "Missiles were fired.", False),  # whole words only
        ("missile", "antimissile defences", False),
        ("missile*", "Missiles were fired.", True),
        ("missile*", "antimissile defences", False),
        ("and", "salt and pepper", True),  # lower-case operators are plain words
    ],
)
def test_words_and_trailing_wildcards(query: str, body: str, expected: bool) -> None:
    assert matches(query, body) is expected


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        ('"ballistic missile"', "a ballistic missile test", True),
        ('"ballistic missile"', "a missile, ballistic", False),
        ('"ballistic missile"', "ballistic and missile", False),
        ('"ballistic missile*"', "Ballistic Missiles were launched", True),
        ('"ballist* missile*"', "ballistics missilery", True),
        ('"ballistic missile*"', "ballistic antimissile", False),
    ],
)
def test_phrases_take_consecutive_words_with_wildcards(query: str, body: str, expected: bool) -> None:
    assert matches(query, body) is expected


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ('"K-pop"', "the K-pop industry"),
        ("K-pop", "K‐pop stars (with a Unicode hyphen)"),
        ('"KN-23"', "a KN-23 missile"),
        ('"People\'s Republic"', "the People’s Republic of China"),  # curly apostrophe in text
        ('"People’s Republic"', "the People's Republic of China"),  # curly apostrophe in query
    ],
)
def test_phrases_are_tokenised_like_the_text(query: str, body: str) -> None:
    assert matches(query, body)


def test_punctuation_inside_a_phrase_does_not_matter_but_words_do() -> None:
    assert matches('"K-pop"', "K pop")
    assert not matches('"K-pop"', "Kpop")


# accents, width, case


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("cafe", "un Café noir"),
        ("café", "CAFE"),
        ("resume", "her résumé"),
        ("missile", "ＭＩＳＳＩＬＥ launch"),  # full-width letters
        ("ＫＮ２３", "KN23"),
        ("strasse", "Straße"),  # case folding
        ("cafe", "cafe\u0301 (decomposed accent)"),
    ],
)
def test_case_accents_and_width_are_folded(query: str, body: str) -> None:
    assert matches(query, body)


# AND, OR, NOT, parentheses, precedence


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        ("missile AND launch", "missile launch", True),
        ("missile AND launch", "missile only", False),
        ("missile launch", "launch of a missile", True),  # side by side means AND
        ("missile launch", "missile only", False),
        ("missile OR rocket", "a rocket", True),
        ("missile OR rocket", "a plane", False),
        ("missile NOT test", "missile launch", True),
        ("missile NOT test", "missile test", False),
        ("NOT test", "anything else", True),
        ("NOT test", "a test", False),
        ("a OR b AND c", "a", True),  # AND binds tighter than OR
        ("a OR b AND c", "b", False),
        ("(a OR b) AND c", "a", False),
        ("NOT a AND b", "b", True),  # NOT binds tighter than AND
        ("NOT a AND b", "a b", False),
        ("x AND (y OR NOT z)", "x z", False),  # NOT inside parentheses
        ("x AND (y OR NOT z)", "x", True),
        ("x AND (y OR NOT z)", "x y z", True),
        ("x AND NOT (y OR z)", "x z", False),
        ("x AND NOT (y OR z)", "x w", True),
    ],
)
def test_boolean_operators_and_precedence(query: str, body: str, expected: bool) -> None:
    assert matches(query, body) is expected


# aliases


def test_an_alias_matches_any_of_its_entries() -> None:
    assert matches("@dprk", "Talks in Pyongyang")
    assert matches("@dprk", "North Koreans protested")  # North Korea* is the phrase "north korea*"
    assert matches("@dprk", "the Democratic People’s Republic of Korea")
    assert matches("@arms", "a rocket launchers convoy")
    assert not matches("@dprk", "South Korea and Japan")
    assert not matches("@dprk", "North America")


def test_alias_names_are_case_sensitive_like_the_rule_hash() -> None:
    with pytest.raises(Exception) as raised:
        hits("@DPRK", "DPRK")
    assert "did you mean @dprk" in str(raised.value)


# NEAR


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("missile one two three launch", True),  # exactly 3 words between
        ("missile one two three four launch", False),  # one past the limit
        ("launch one two three missile", True),  # the other order
        ("launch one two three four missile", False),
        ("missile launch", True),
        ("The missile fell. Then, a launch.", True),  # crosses a sentence end: 3 words between
        ("The missile fell!!! — ... Then a launch", True),  # punctuation is not a word
        ("The missile fell, then went far; a launch", False),  # 4 words between
    ],
)
def test_near_counts_words_between_in_either_order(body: str, expected: bool) -> None:
    assert matches("missile NEAR/3 launch", body) is expected


def test_near_zero_means_adjacent_and_a_word_is_not_near_itself() -> None:
    assert matches("missile NEAR/0 launch", "launch missile")
    assert not matches("missile NEAR/0 launch", "launch a missile")
    assert not matches("missile* NEAR/3 missiles", "missiles")
    assert matches("missile* NEAR/3 missiles", "missile missiles")


def test_near_takes_phrases_aliases_and_or_groups() -> None:
    assert matches('@dprk NEAR/2 "ballistic missile*"', "North Korea tested ballistic missiles")
    assert matches("(rocket OR missile*) NEAR/1 (test OR launch)", "the launch of missiles and a rocket")
    assert not matches("(rocket OR missile) NEAR/1 (test OR launch)", "rocket scientists gave a test")


def test_near_binds_tighter_than_not_and_and() -> None:
    assert matches("NOT missile NEAR/1 test", "missile program and a test")  # NOT (missile NEAR test)
    assert not matches("NOT missile NEAR/1 test", "missile test")
    assert matches("a NEAR/1 b AND c", "a b ... far far away ... c")


def test_near_does_not_cross_from_title_to_body() -> None:
    assert not matches("missile NEAR/5 launch", body="launch today", title="A missile")


def test_near_chains_left_to_right() -> None:
    assert matches("a NEAR/1 b NEAR/1 c", "a b x c")
    assert not matches("a NEAR/1 b NEAR/1 c", "a b x y c")


# ATLEAST


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        ("ATLEAST/3 missile", "missile, missile and missile", True),
        ("ATLEAST/3 missile", "missile, missile and missiles", False),
        ("ATLEAST/3 missile*", "missile, missile and missiles", True),
        ('ATLEAST/2 "ballistic missile"', "ballistic missile; ballistic missile", True),
        ('ATLEAST/2 "ballistic missile"', "ballistic missile; ballistic rocket", False),
        ("ATLEAST/2 @dprk", "Pyongyang said the DPRK would", True),
        ("ATLEAST/2 @dprk", "Pyongyang said", False),
        ("ATLEAST/2 missile AND test", "missile missile test", True),
    ],
)
def test_atleast_counts_occurrences(query: str, body: str, expected: bool) -> None:
    assert matches(query, body) is expected


def test_atleast_counts_title_and_body_together() -> None:
    assert matches("ATLEAST/2 missile", body="one missile", title="Missile")


# fields


@pytest.mark.parametrize(
    ("query", "title", "body", "expected"),
    [
        ("title:(missile)", "Missile test", "nothing", True),
        ("title:(missile)", "Nothing", "a missile", False),
        ("body:(missile)", "Missile test", "nothing", False),
        ("body:missile", "Nothing", "a missile", True),
        ("missile", "Missile test", "nothing", True),  # default: both fields
        ('title:("ballistic missile" OR rocket) AND body:launch', "Rocket", "launch", True),
        ('title:("ballistic missile" OR rocket) AND body:launch', "Launch", "rocket", False),
        ("title:(NOT missile) AND missile", "Test", "missile", True),
        ("title:(missile NEAR/1 test)", "missile x test", "", True),
        ('"missile launch"', "a missile", "launch today", False),  # phrases stay in one field
    ],
)
def test_fields_restrict_where_words_are_looked_for(query: str, title: str, body: str, expected: bool) -> None:
    assert matches(query, body, title) is expected


# Korean, Chinese, Japanese


@pytest.mark.parametrize(
    ("query", "body", "expected"),
    [
        ("북한", "북한이 미사일을 발사했다", True),  # particle attached
        ("북한", "북한의 미사일", True),
        ("북한", "남한이 발표했다", False),
        ("@dprk", "북한이 러시아에 포탄을 제공했다", True),
        ("导弹", "朝鲜发射导弹试验", True),  # no spaces in Chinese
        ("导弹", "朝鲜发射火箭试验", False),
        ("ミサイル", "北朝鮮がミサイルを発射", True),
        ('"KN-23" AND 导弹', "朝鲜发射KN-23导弹", True),  # a script change splits words
        ("북한 NEAR/1 미사일", "북한이 미사일을 발사했다", True),
        ("ｶﾀｶﾅ", "カタカナ", True),  # half-width kana fold by NFKC
    ],
)
def test_hangul_han_and_kana_match_inside_longer_words(query: str, body: str, expected: bool) -> None:
    assert matches(query, body) is expected


def test_cjk_marks_point_at_the_matched_part_of_the_word() -> None:
    [match] = hits("导弹 OR 북한", "朝鲜发射导弹试验。북한이 발표했다.")
    assert match.terms == ("导弹", "북한")
    assert marked(match) == ["导弹", "북한"]


# routing: tags and languages


def test_rules_with_tags_only_see_feeds_sharing_a_tag() -> None:
    ruleset = compile_rules([RuleConfig(name="r", query="missile", tags=("korea", "world"))], {})
    assert ruleset.match(MatchInput("missile", "", feed_tags=("World",)))
    assert not ruleset.match(MatchInput("missile", "", feed_tags=("sport",)))
    assert not ruleset.match(MatchInput("missile", ""))


def test_rules_with_languages_compare_the_primary_subtag() -> None:
    ruleset = compile_rules([RuleConfig(name="r", query="missile", languages=("en", "ko"))], {})
    assert ruleset.match(MatchInput("missile", "", language="en-US"))
    assert ruleset.match(MatchInput("missile", "", language="KO"))
    assert not ruleset.match(MatchInput("missile", "", language="fr"))


def test_an_article_of_undecided_language_is_not_excluded_by_languages() -> None:
    ruleset = compile_rules([RuleConfig(name="r", query="missile", languages=("en",))], {})
    assert [m.rule for m in ruleset.match(MatchInput("missile", "", language=None))] == ["r"]
    assert ruleset.skipped(MatchInput("missile", "", language=None)) == []


def test_skipped_says_which_filter_kept_a_rule_away_and_why() -> None:
    ruleset = compile_rules([RuleConfig(name="english", query="missile", languages=("en",)),
                             RuleConfig(name="asia", query="missile", tags=("asia",)),
                             RuleConfig(name="any", query="missile")], {})
    doc = MatchInput("missile", "", language="ko", feed_tags=("world",))
    assert [m.rule for m in ruleset.match(doc)] == ["any"]
    reasons = dict(ruleset.skipped(doc))
    assert set(reasons) == {"english", "asia"}
    assert "languages" in reasons["english"] and "en" in reasons["english"] and "ko" in reasons["english"]
    assert "tags" in reasons["asia"] and "asia" in reasons["asia"] and "world" in reasons["asia"]
    assert "no tagged feed" in dict(ruleset.skipped(MatchInput("missile", "")))["asia"]


# the result: rule order, hash, explanation


def test_match_returns_only_hits_in_rule_order_with_the_rule_hash() -> None:
    rules = [
        RuleConfig(name="third", query="launch", content_hash="c"),
        RuleConfig(name="none", query="rocket", content_hash="n"),
        RuleConfig(name="first", query="missile", content_hash="a"),
    ]
    ruleset = compile_rules(rules, {})
    found = ruleset.match(MatchInput("", "missile launch"))
    assert [(m.rule, m.rule_hash) for m in found] == [("third", "c"), ("first", "a")]
    assert [(rule.name, rule.hash) for rule in ruleset.rules] == [("third", "c"), ("none", "n"), ("first", "a")]


def test_explanation_keeps_original_casing_fields_and_marks() -> None:
    body = "Officials met on Monday. Pyongyang shipped Ballistic Missiles to Moscow, officials said. Nothing else."
    [match] = hits('@dprk AND "ballistic missile*"', body, title="DPRK news")
    assert match.terms == ("Ballistic Missiles", "DPRK", "Pyongyang")  # phrases first, then as first found
    assert match.fields == ("title", "body")
    assert match.snippet == "Pyongyang shipped Ballistic Missiles to Moscow, officials said. Nothing else."
    assert marked(match) == ["Pyongyang", "Ballistic Missiles"]


def test_terms_are_listed_once_case_folded_phrases_and_frequent_ones_first() -> None:
    body = "Tariffs rose. New tariffs on China and more tariffs. The trade war goes on, China says."
    [match] = hits('tariff* OR china OR "trade war"', body, title="TARIFFS and China")
    assert match.terms == ("trade war", "tariffs", "China")  # phrase; 4x tariffs as written 2x; 3x China
    assert len({term.casefold() for term in match.terms}) == len(match.terms)


def test_snippet_is_the_body_sentence_not_the_headline_repeated_atop_the_body() -> None:
    title = "Tariffs on China rise"
    body = "Tariffs on China rise\nMarkets were calm. Washington raised tariffs on China again on Monday."
    [match] = hits("tariff* AND china", body, title=title)
    assert match.snippet == "Washington raised tariffs on China again on Monday."
    assert marked(match) == ["tariffs", "China"]


def test_a_title_only_hit_shows_the_body_lead_not_the_title() -> None:
    [match] = hits("title:sanctions", "The council met on Monday. It agreed on new measures.",
                   title="New sanctions on shipping")
    assert match.fields == ("title",) and match.snippet.startswith("The council met on Monday.")
    assert match.marks == ()
    [match] = hits("sanctions", "", title="New sanctions on shipping")
    assert match.snippet == "New sanctions on shipping" and marked(match) == ["sanctions"]


def test_snippet_picks_the_sentence_with_most_distinct_terms() -> None:
    body = (
        "A missile was mentioned first in this quite long opening sentence about many other things entirely. "
        + "Filler text goes here for a while without any of the words at all, to make the sentences long enough. "
        + "Later a missile launch from Pyongyang was confirmed by several officials on the record today."
    )
    [match] = hits("missile OR launch OR Pyongyang", body)
    assert match.snippet.startswith("Later a missile launch from Pyongyang")
    assert marked(match) == ["missile", "launch", "Pyongyang"]


def test_near_marks_its_two_sides_not_the_words_between() -> None:
    [match] = hits("missile NEAR/3 launch", "The missile had a launch.")
    assert marked(match) == ["missile", "launch"]


def test_a_long_sentence_is_cut_around_the_match_with_ellipses() -> None:
    body = "word " * 300 + "the missile flew " + "word " * 300
    [match] = hits("missile", body)
    assert len(match.snippet) <= 402
    assert match.snippet.startswith("…") and match.snippet.endswith("…")
    assert marked(match) == ["missile"]


def test_a_purely_negative_rule_hits_with_an_empty_explanation() -> None:
    [match] = hits("NOT missile", "Talks resumed. Nothing else happened.")
    assert (match.terms, match.fields, match.marks) == ((), (), ())
    assert match.snippet == "Talks resumed. Nothing else happened."


def test_the_prefilter_still_evaluates_purely_negative_rules() -> None:
    rules = [RuleConfig(name=f"r{i}", query=f"word{i}") for i in range(50)] + [RuleConfig(name="neg", query="NOT zebra")]
    ruleset = compile_rules(rules, {})
    assert [m.rule for m in ruleset.match(MatchInput("", "nothing relevant"))] == ["neg"]
    assert [m.rule for m in ruleset.match(MatchInput("", "word7 here"))] == ["r7", "neg"]


def test_near_pairs_long_span_lists_in_bulk_as_one_by_one() -> None:
    import random

    from matching.evaluate import PAIR_IN_BULK, pair_spans, pair_spans_in_bulk

    rng = random.Random(5)
    for _ in range(200):
        left = sorted({(s, s + rng.randint(1, 3)) for s in rng.sample(range(400), PAIR_IN_BULK + rng.randint(1, 40))})
        right = [(s, s + rng.randint(1, 3)) for s in rng.sample(range(400), rng.randint(1, 60))]
        distance = rng.randint(0, 12)
        one_by_one = sorted(
            {span for chunk in range(0, len(left), PAIR_IN_BULK) for span in pair_spans(left[chunk : chunk + PAIR_IN_BULK], right, distance)}
        )
        assert pair_spans_in_bulk(left, right, distance) == one_by_one


def test_the_prefilter_gives_the_same_answers_after_reindexing(monkeypatch: pytest.MonkeyPatch) -> None:
    from matching import ruleset as ruleset_module

    monkeypatch.setattr(ruleset_module, "REINDEX_AFTER", (3,))
    rules = [
        RuleConfig(name="a", query="missile AND Pyongyang"),
        RuleConfig(name="b", query="(missile OR rocket) AND launch NOT drill"),
        RuleConfig(name="c", query='"North Korea" NEAR/5 missile*'),
    ]
    ruleset = compile_rules(rules, {})
    texts = ["the missile and the rocket", "missile launch", "missile launch in Pyongyang", "North Korea fired missiles"] * 3
    for text in texts:
        document = MatchInput(title="", body=text)
        assert ruleset.match(document) == ruleset.match_every_rule(document)
    assert ruleset.documents_seen == len(texts)
    pyongyang = ruleset.vocabulary.exact["pyongyang"]
    entry = ruleset.index[pyongyang]  # rule "a" now sits under the word seen least often
    assert entry is not None and 0 in [index for index, _, _ in entry[1]]
