"""Rules that learn from the analyst: precision per rule, where to label next, suggested edits.

Plain functions, no Prefect (like flows/preview.py). They read the labels and stored
articles (`store`), hand plain texts to the pure learner (`matching.learning`,
`matching.candidates`), and take each suggestion's effect on the stored articles from
`flows.preview.preview_queries`, so `gained`/`lost` are exactly what `rules preview`
reports once the query is written into rules.yaml. Nothing here writes to the database;
`apply_suggestion` edits rules.yaml only (config.rules_edit).

Precision per rule version (`rule_stats`): for each version with stored hits, and for
the current version, how many of its hits the analyst labelled, relevant or not, the
precision with its 95% Wilson interval (honest at small counts), and how many stories
labelled relevant the version misses. The current version is matched against the
labelled articles themselves (so it needs no backfill); older versions are judged by
the hits they stored.
"""

from __future__ import annotations

import math
import re
from itertools import zip_longest
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from config.models import Config, RuleConfig
from config.rules_edit import edit_rule
from flows.preview import preview_queries, stored_input
from matching import compile_rules
from matching.candidates import rank_candidates
from matching.learning import Suggestion, Text, suggest_queries
from matching.models import MatchInput
from store.history import describe_articles, iter_stored_articles, rule_versions, stored_hits
from store.labels import LabelledArticle, rule_labels

Z95 = 1.959964
MAX_NEW_EXAMPLES = 3


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None without trials)."""
    if trials == 0:
        return None
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - spread), min(1.0, centre + spread)


def version_stats(rule: str, rule_hash: str, current: bool, hits: int, hit_articles: set[int],
                  labels: Sequence[LabelledArticle]) -> dict:
    """One row of `rules stats`: the version's labelled hits and the relevant stories it misses."""
    judged = [label for label in labels if label.article_id in hit_articles]
    relevant = sum(label.relevant for label in judged)
    interval = wilson_interval(relevant, len(judged))
    missed = sum(1 for label in labels if label.relevant and label.article_id not in hit_articles)
    return {"rule": rule, "rule_hash": rule_hash, "current": current, "hits": hits, "labelled": len(judged),
            "relevant": relevant, "irrelevant": len(judged) - relevant,
            "precision": round(relevant / len(judged), 4) if judged else None,
            "precision_low": round(interval[0], 4) if interval else None,
            "precision_high": round(interval[1], 4) if interval else None,
            "missed": missed}


def rule_stats(engine: Engine, config: Config, rule: str | None = None) -> list[dict]:
    """Per rule (of rules.yaml) and version: the `rules stats --json` rows, current version first."""
    versions = rule_versions(engine)
    rules = [r for r in config.rules if rule is None or r.name == rule]
    by_version: dict[tuple[str, str], set[int]] = {}
    for hit in stored_hits(engine, rules=[r.name for r in rules]):
        by_version.setdefault((hit.rule, hit.rule_hash), set()).add(hit.article_id)
    rows = []
    for current in rules:
        labels = rule_labels(engine, current.name)
        now = matched_labels(config, current, labels)
        stored = versions.get(current.name, {})
        rows.append(version_stats(current.name, current.content_hash, True, stored.get(current.content_hash, 0),
                                  now, labels))
        rows += [version_stats(current.name, rule_hash, False, count, by_version.get((current.name, rule_hash),
                                                                                       set()), labels)
                 for rule_hash, count in sorted(stored.items()) if rule_hash != current.content_hash]
    return rows


def matched_labels(config: Config, rule: RuleConfig, labels: Sequence[LabelledArticle]) -> set[int]:
    """The labelled articles the rule, as written now, hits."""
    ruleset = compile_rules([rule], config.aliases)
    tags = {feed.url: feed.tags for feed in config.feeds}
    return {label.article_id for label in labels
            if ruleset.match(MatchInput(label.title, label.text, label.language, tags.get(label.feed_url, ())))}


def load_pool(engine: Engine, config: Config) -> list[Text]:
    """Every stored article as the learner sees it (keyed by article id)."""
    tags = {feed.url: feed.tags for feed in config.feeds}
    texts = []
    for article in iter_stored_articles(engine):
        doc = stored_input(article, tags)
        texts.append(Text(article.article_id, doc.title, doc.body, doc.language, doc.feed_tags))
    return texts


@dataclass
class RuleSuggestion:
    """A learned suggestion with its effect on the stored articles, as `rules preview` reports it."""

    rule: str
    suggestion: Suggestion
    gained: list[dict]
    lost: list[dict]
    fixes: list[dict]
    breaks: list[dict]

    def to_json(self) -> dict:
        """One object of `rules suggest --json` (keys are a public contract: extend, never rename)."""
        return {"rule": self.rule, "query": self.suggestion.query, "change": self.suggestion.change,
                "fixes": self.fixes, "breaks": self.breaks, "gained": self.gained, "lost": self.lost}


def suggest_edits(engine: Engine, config: Config, rule: RuleConfig,
                  examples: Sequence[tuple[MatchInput, bool]], limit: int = 3) -> list[RuleSuggestion]:
    """The rule's suggested revisions, best first, each with its preview."""
    labels = rule_labels(engine, rule.name)
    if not labels:
        return []
    answers = {label.article_id: label.relevant for label in labels}
    suggestions = suggest_queries(rule, config.aliases, load_pool(engine, config), answers, examples, limit)
    if not suggestions:
        return []
    previews = preview_queries(engine, config, rule.name, [s.query for s in suggestions])
    by_id = {label.article_id: label for label in labels}
    reports = []
    for suggestion, preview in zip(suggestions, previews):
        data = preview.to_json()["rules"][0]
        reports.append(RuleSuggestion(rule.name, suggestion, data["new"], data["gone"],
                                      [labelled_json(by_id[k]) for k in suggestion.fixes],
                                      [labelled_json(by_id[k]) for k in suggestion.breaks]))
    return reports


def labelled_json(label: LabelledArticle) -> dict:
    return {"article_id": label.article_id, "url": label.url, "title": label.title,
            "label": "relevant" if label.relevant else "irrelevant"}


def deciding_examples(config: Config, rule: RuleConfig, report: RuleSuggestion,
                      labels: Sequence[LabelledArticle]) -> tuple[list[str], list[str]]:
    """Up to three fixed stories as examples, each its shortest deciding sentence: for a relevant
    story one the new query matches and the old did not, for an irrelevant one the reverse."""
    old = compile_rules([rule], config.aliases)
    new = compile_rules([RuleConfig(name=rule.name, query=report.suggestion.query, tags=rule.tags,
                                    languages=rule.languages)], config.aliases)
    language = rule.languages[0] if rule.languages else None
    by_id = {label.article_id: label for label in labels}
    match, no_match = [], []
    for fixed in alternate(report.fixes):
        label = by_id[fixed["article_id"]]
        for sentence in sorted(sentences(f"{label.title}. {label.text}"), key=len):
            probe = MatchInput("", sentence, language, rule.tags)
            if bool(new.match(probe)) == label.relevant and bool(old.match(probe)) != label.relevant:
                (match if label.relevant else no_match).append(sentence)
                break
        if len(match) + len(no_match) >= MAX_NEW_EXAMPLES:
            break
    return match, no_match


def sentences(text: str) -> list[str]:
    """The text's sentences of four words or more (a plain split at . ! ? and line ends)."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [" ".join(part.split()) for part in parts if len(part.split()) >= 4]


def alternate(fixes: list[dict]) -> list[dict]:
    """Relevant and irrelevant fixes taken in turn, so the new examples show both sides."""
    kinds = [[f for f in fixes if f["label"] == "relevant"], [f for f in fixes if f["label"] != "relevant"]]
    return [f for pair in zip_longest(*kinds) for f in pair if f is not None]


def apply_suggestion(config: Config, rule: RuleConfig, report: RuleSuggestion,
                     labels: Sequence[LabelledArticle]) -> tuple[list[str], list[str]]:
    """Write the suggested query and its deciding examples into rules.yaml; the examples added."""
    match, no_match = deciding_examples(config, rule, report, labels)
    edit_rule(Path(rule.source.file) if rule.source else Path(config.directory) / "rules.yaml", rule.name,
              report.suggestion.query, match, no_match)
    return match, no_match


def list_candidates(engine: Engine, config: Config, rule: RuleConfig, limit: int) -> list[dict]:
    """`rules candidates --json`: where labelling teaches the rule most, best first."""
    answers = {label.article_id: label.relevant for label in rule_labels(engine, rule.name)}
    chosen = rank_candidates(rule, config.aliases, load_pool(engine, config), answers, limit)
    refs = describe_articles(engine, [c.key for c in chosen])
    return [{"url": refs[c.key].url, "title": refs[c.key].title, "hit": c.hit, "why": c.why,
             "article_id": c.key} for c in chosen]
