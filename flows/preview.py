"""`newswatch rules preview`: the current rules run over the stored articles, against the stored hits.

Plain functions, no Prefect. Nothing is written and nothing is sent: stored articles
are read back (`store.history`), matched by `matching` exactly as a pass matches a new
article (stored clean title and text, language, the feed's tags from feeds.yaml), and
compared per rule with the hits stored for that rule:

- `new`: articles the rule would hit now and has no stored hit for;
- `gone`: stored hits the rule, as written now, would no longer find;
- `unchanged`: both.

A rule's stored history is the hits stored under its name, in any version, plus those
of its former names: a name no longer in rules.yaml whose stored hits carry this rule's
content hash (the hash leaves the name out, so a renamed rule is recognised by it). A
name with stored hits that is neither a current rule nor a former name of one is
reported as `deleted`, with its stored-hit count. The status of a current rule:
`renamed` (it has former names), `new` (nothing stored for it yet), `unchanged` (every
stored hit was found by this very version), or `changed` (stored hits by other versions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Engine

from config.loader import rule_content_hash
from config.models import Config, RuleConfig
from flows.history_match import MatchJob, Progress, feed_tags, match_history
from flows.history_match import stored_input  # noqa: F401  (flows.feedback imports it from here)
from matching.cache import rules_cache_dir
from matching.models import RuleMatch
from store import database
from store.history import ArticleRef, StoredHit, describe_articles, rule_versions, stored_hits
from store.views import iso_utc


class UnknownRule(ValueError):
    """--rule names neither a rule of rules.yaml nor a rule with stored hits."""


@dataclass
class RulePreview:
    """One rule's hits now against its stored hits, by article id."""

    rule: str
    rule_hash: str | None  # None for a deleted rule
    status: str  # new | unchanged | changed | renamed | deleted
    former_names: tuple[str, ...] = ()
    stored_versions: dict[str, int] = field(default_factory=dict)  # content hash -> stored hits, all time
    would_hit: dict[int, RuleMatch] = field(default_factory=dict)
    stored: dict[int, StoredHit] = field(default_factory=dict)

    @property
    def new(self) -> list[int]:
        return sorted(set(self.would_hit) - set(self.stored))

    @property
    def gone(self) -> list[int]:
        return sorted(set(self.stored) - set(self.would_hit))

    @property
    def unchanged(self) -> list[int]:
        return sorted(set(self.would_hit) & set(self.stored))


@dataclass
class Preview:
    since: datetime | None
    articles: int = 0  # stored articles matched
    rules: list[RulePreview] = field(default_factory=list)
    refs: dict[int, ArticleRef] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The `rules preview --json` object (keys are a public contract: extend, never rename)."""
        return {"since": iso_utc(self.since), "articles": self.articles,
                "rules": [rule_json(rule, self.refs) for rule in self.rules]}


def preview_rules(config: Config, *, rule: str | None = None, since: datetime | None = None,
                  progress: Progress | None = None) -> Preview:
    """Open the database, preview, close it again."""
    with database(config.settings.database_url) as engine:
        return preview_stored(engine, config, rule=rule, since=since, progress=progress)


def preview_stored(engine: Engine, config: Config, *, rule: str | None = None,
                   since: datetime | None = None, progress: Progress | None = None) -> Preview:
    """Each selected rule (every rule, and every deleted one, by default) over the stored articles."""
    versions = rule_versions(engine)
    previews = plan_previews(config.rules, versions)
    if rule is not None:
        previews = [p for p in previews if p.rule == rule]
        if not previews:
            raise UnknownRule(f"no rule named {rule!r} in rules.yaml and no stored hit for it "
                              f"(rules: {', '.join(r.name for r in config.rules)})")
    preview = Preview(since=since, rules=previews)
    match_stored(engine, config, preview, progress)
    collect_stored(engine, preview)
    changed = {a for p in previews for a in (*p.new, *p.gone, *p.unchanged)}
    preview.refs = describe_articles(engine, changed)
    return preview


def plan_previews(rules: Sequence[RuleConfig], versions: dict[str, dict[str, int]]) -> list[RulePreview]:
    """A preview per current rule (with its former names and status), then one per deleted rule."""
    current = {rule.name for rule in rules}
    orphans = {name: hashes for name, hashes in versions.items() if name not in current}
    previews, claimed = [], set()
    for rule in rules:
        former = tuple(sorted(name for name, hashes in orphans.items()
                              if rule.content_hash in hashes and name not in claimed))
        claimed.update(former)
        stored_versions = dict(versions.get(rule.name, {}))
        for name in former:
            for rule_hash, count in orphans[name].items():
                stored_versions[rule_hash] = stored_versions.get(rule_hash, 0) + count
        previews.append(RulePreview(rule.name, rule.content_hash, rule_status(rule, former, stored_versions),
                                    former, stored_versions))
    previews += [RulePreview(name, None, "deleted", stored_versions=dict(hashes))
                 for name, hashes in sorted(orphans.items()) if name not in claimed]
    return previews


def rule_status(rule: RuleConfig, former: tuple[str, ...], stored_versions: dict[str, int]) -> str:
    if former:
        return "renamed"
    if not stored_versions:
        return "new"
    return "unchanged" if set(stored_versions) == {rule.content_hash} else "changed"


def match_stored(engine: Engine, config: Config, preview: Preview, progress: Progress | None = None) -> None:
    """Fill each current rule's `would_hit` from the stored articles (the since window)."""
    by_name = {p.rule: p for p in preview.rules if p.status != "deleted"}
    rules = tuple(rule for rule in config.rules if rule.name in by_name)
    if not rules:
        return
    job = MatchJob(rules, config.aliases, feed_tags(config.feeds), rules_cache_dir(config.settings.data_dir))
    for article_id, matches in match_history(engine, job, since=preview.since, progress=progress):
        preview.articles += 1
        for match in matches:
            by_name[match.rule].would_hit[article_id] = match


def with_query(config: Config, rule: str, query: str) -> Config:
    """The config with one rule's query replaced, hashed as the loader would hash it."""
    def edit(current: RuleConfig) -> RuleConfig:
        if current.name != rule:
            return current
        return replace(current, query=query, content_hash=rule_content_hash(query, current.tags, current.languages,
                                                                            config.aliases))
    return replace(config, rules=tuple(edit(current) for current in config.rules))


def preview_queries(engine: Engine, config: Config, rule: str, queries: Sequence[str]) -> list[Preview]:
    """`rules preview --rule RULE` as it would report with each query written into rules.yaml,
    the stored articles read and matched once for all of them."""
    versions = rule_versions(engine)
    variants = [with_query(config, rule, query) for query in queries]
    previews = [Preview(since=None, rules=[p for p in plan_previews(v.rules, versions) if p.rule == rule])
                for v in variants]
    edited = [next(r for r in v.rules if r.name == rule) for v in variants]
    job = MatchJob(tuple(replace(r, name=str(index)) for index, r in enumerate(edited)), config.aliases,
                   feed_tags(config.feeds))
    articles = 0
    for article_id, matches in match_history(engine, job):
        articles += 1
        for match in matches:
            previews[int(match.rule)].rules[0].would_hit[article_id] = replace(match, rule=rule)
    for preview in previews:
        preview.articles = articles
        collect_stored(engine, preview)
        only = preview.rules[0]
        preview.refs = describe_articles(engine, [*only.new, *only.gone, *only.unchanged])
    return previews


def collect_stored(engine: Engine, preview: Preview) -> None:
    """Fill each current rule's `stored` with its stored hits (and its former names') in the window."""
    owner = {name: p for p in preview.rules if p.status != "deleted" for name in (p.rule, *p.former_names)}
    for hit in stored_hits(engine, preview.since, rules=list(owner)):
        owner[hit.rule].stored.setdefault(hit.article_id, hit)


def rule_json(rule: RulePreview, refs: dict[int, ArticleRef]) -> dict:
    return {
        "rule": rule.rule,
        "rule_hash": rule.rule_hash,
        "status": rule.status,
        "former_names": list(rule.former_names),
        "stored_versions": rule.stored_versions,
        "stored_hits": sum(rule.stored_versions.values()),
        "stored": len(rule.stored),
        "would_hit": len(rule.would_hit),
        "new": [{**article_json(refs[a]), **match_json(rule.would_hit[a])} for a in rule.new],
        "gone": [{**article_json(refs[a]), **stored_json(rule.stored[a])} for a in rule.gone],
        "unchanged": [article_json(refs[a]) for a in rule.unchanged],
    }


def article_json(ref: ArticleRef) -> dict:
    return {"article_id": ref.article_id, "url": ref.url, "title": ref.title, "feed": ref.feed,
            "published": iso_utc(ref.published)}


def match_json(match: RuleMatch) -> dict:
    return {"terms": list(match.terms), "snippet": match.snippet}


def stored_json(hit: StoredHit) -> dict:
    return {"hit_id": hit.hit_id, "stored_rule": hit.rule, "stored_rule_hash": hit.rule_hash}
