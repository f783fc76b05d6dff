"""matching.learning on plain texts: a suggestion says what it breaks, keeps the rule's examples,
and stays within the term limit."""

from __future__ import annotations

from config.models import RuleConfig
from matching.candidates import rank_candidates
from matching.learning import MAX_TERMS, Text, count_terms, read_plan, render, spread_order, suggest_queries
from matching.models import MatchInput


def pool_and_labels(relevant_word: str = "") -> tuple[list[Text], dict[int, bool]]:
    """Twenty false hits share only `joystick`; one relevant hit has it too; five relevant hits do not.
    The relevant ones share `relevant_word` when given, else words of two stories at most."""
    words = [relevant_word or word for word in ("gamma", "alpha", "alpha", "beta", "beta", "gamma")]
    texts = [Text(n, "", f"missile joystick x{n}y z{n}w") for n in range(20)]
    texts.append(Text(20, "", f"missile {words[0]} joystick q20r"))
    texts += [Text(n, "", f"missile {words[n - 20]} k{n}m") for n in range(21, 26)]
    texts += [Text(n, "", f"weather report p{n}s") for n in range(26, 90)]
    labels = {n: n >= 20 for n in range(26)}
    return texts, labels


def test_an_exclusion_that_loses_a_labelled_relevant_story_lists_it_in_breaks():
    texts, labels = pool_and_labels()
    suggestions = suggest_queries(RuleConfig(name="m", query="missile"), {}, texts, labels)
    assert suggestions and suggestions[0].query == "missile NOT joystick"
    assert suggestions[0].breaks == (20,) and suggestions[0].fixes == tuple(range(20))


def test_a_suggestion_never_breaks_the_rules_examples():
    texts, labels = pool_and_labels()
    example = (MatchInput("", "a missile test with a joystick"), True)
    assert suggest_queries(RuleConfig(name="m", query="missile"), {}, texts, labels, [example]) == []


def test_plans_read_back_and_stay_within_the_term_limit():
    plan = read_plan('(missile* OR "foreign exchange" OR rocket) NOT (joystick OR arcade)')
    assert plan.keep == ["missile*", '"foreign exchange"', "rocket"] and plan.exclude == ["joystick", "arcade"]
    assert render(plan) == '(missile* OR "foreign exchange" OR rocket) NOT (joystick OR arcade)'
    assert count_terms(render(plan)) == 5 <= MAX_TERMS


def test_a_broad_word_is_kept_only_with_the_words_of_its_relevant_stories():
    texts, labels = pool_and_labels(relevant_word="test")
    best = suggest_queries(RuleConfig(name="m", query="missile"), {}, texts, labels)[0]
    assert best.query == "missile AND test"
    assert best.change.startswith("Keep missile only with test") and best.breaks == ()
    assert best.fixes == tuple(range(20))
    assert read_plan(best.query).context == {"missile": ["test"]}


def test_a_suggestion_is_never_worse_than_the_rule_on_the_labels():
    """Every false hit shares `joystick` with as many relevant hits: no edit the labels back."""
    texts = [Text(n, "", f"missile joystick w{n}") for n in range(12)]
    texts += [Text(n, "", f"weather report p{n}s") for n in range(12, 40)]
    labels = {n: n % 2 == 0 for n in range(12)}
    assert suggest_queries(RuleConfig(name="m", query="missile"), {}, texts, labels) == []


def test_context_groups_and_title_words_read_back():
    plan = read_plan('((trade AND (deficit OR surplus)) OR title:tariff* OR exports) NOT (coffee OR tonnes)')
    assert plan.keep == ["trade", "title:tariff*", "exports"] and plan.context == {"trade": ["deficit", "surplus"]}
    assert plan.exclude == ["coffee", "tonnes"]
    assert render(plan) == '((trade AND (deficit OR surplus)) OR title:tariff* OR exports) NOT (coffee OR tonnes)'


def test_candidates_first_offer_what_the_best_suggestion_would_change():
    texts, labels = pool_and_labels()
    texts += [Text(n, "", f"missile joystick unseen{n}") for n in range(90, 96)]
    chosen = rank_candidates(RuleConfig(name="m", query="missile"), {}, texts, labels, limit=4)
    assert chosen[0].key in range(90, 96) and chosen[0].hit
    assert chosen[0].why == "the suggested edit would drop it from the hits (missile NOT joystick): is that right?"
    assert not set(labels) & {c.key for c in chosen}


def test_a_word_that_marks_relevant_stories_only_in_titles_is_added_as_a_title_word():
    """`rocket` is in the titles of five missed launches, and in the bodies of six salad recipes."""
    texts = [Text(n, f"Missile test {n}", f"missile flight k{n}m") for n in range(5)]
    texts += [Text(n, f"Rocket {n}", f"q{n}r z{n}y") for n in range(5, 10)]
    texts += [Text(n, f"Salad {n}", f"rocket leaves and lemon s{n}t") for n in range(10, 16)]
    texts += [Text(n, f"Weather {n}", f"snow report w{n}v") for n in range(16, 60)]
    labels = {n: n < 10 for n in range(16)}
    best = suggest_queries(RuleConfig(name="m", query="missile"), {}, texts, labels)[0]
    assert best.query == "missile OR title:rocket" and best.fixes == tuple(range(5, 10)) and best.breaks == ()
    assert "title:rocket" in best.change


def joystick_pool() -> list[Text]:
    """A hundred missile stories, sixty of them with `joystick`, and weather reports around them."""
    texts = [Text(n, "", f"missile {'joystick' if n < 60 else 'launch'} a{n}b") for n in range(100)]
    return texts + [Text(n, "", f"weather report p{n}s") for n in range(100, 300)]


def test_an_exclusion_needs_a_fair_sample_of_what_it_removes():
    """Ten false hits with `joystick` labelled, but not the first ones in spread order (as if the
    model had picked them): not enough; the first ten in spread order, all false hits: enough."""
    rule = RuleConfig(name="m", query="missile")
    relevant = {n: True for n in range(60, 80)}
    by_spread = sorted(range(60), key=spread_order)
    picked = {key: False for key in by_spread[-10:]}
    assert suggest_queries(rule, {}, joystick_pool(), relevant | picked) == []
    first = rank_candidates(rule, {}, joystick_pool(), relevant | picked, limit=4)[0]
    assert first.key == by_spread[0] and "(missile NOT joystick)" in first.why
    fair = {key: False for key in by_spread[:10]}
    assert suggest_queries(rule, {}, joystick_pool(), relevant | fair)[0].query == "missile NOT joystick"

