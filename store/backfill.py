"""Store the hits a new or changed rule finds among stored articles (`newswatch backfill`).

`save_backfill_hits` writes, in one transaction, one hit per (rule, article) not stored
yet, marked `backfilled`. The Hit's unique key (rule, article_id) decides "already
stored": an article the rule hit before, in any version, is never stored or alerted again.

Without `alert` no delivery is queued and no story is claimed, exactly as for baseline
hits: the history shows them, nobody is told. With `alert` the hit goes through the
outbox like a pass's hit: the story claim decides whether it alerts (the rule's first
alerting hit in a story does; a copy of a story it already alerted does not, nor does a
story alerted under one of the rule's former names, `former_names`), and an alerting hit
gets one pending delivery per channel. Sending is the relay's business, never this one's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlmodel import Session

from matching.models import RuleMatch
from store.stories import claim_story, story_ids
from store.tables import Delivery, Hit, StoryAlert, utcnow
from store.text import clean_text
from store.upsert import insert_ignore


@dataclass(frozen=True)
class FoundHit:
    """A rule matching a stored article, found now."""

    article_id: int
    match: RuleMatch


@dataclass
class BackfillSaved:
    hit_ids: list[int] = field(default_factory=list)  # stored now
    alerting_hit_ids: list[int] = field(default_factory=list)  # of hit_ids: deliveries queued
    already_stored: int = 0  # (rule, article) held a hit already
    deliveries: int = 0


def save_backfill_hits(
    engine: Engine,
    found: Sequence[FoundHit],
    *,
    alert: bool,
    channels_for_rule: Callable[[str], Sequence[str]],
    config_hash: str = "",
    former_names: Mapping[str, Sequence[str]] | None = None,
) -> BackfillSaved:
    """Store the found hits as backfilled; with `alert`, queue deliveries for those that alert."""
    saved, former_names = BackfillSaved(), former_names or {}
    with Session(engine) as session:
        stories = story_ids(session, [item.article_id for item in found])
        for item in found:
            hit_id = insert_ignore(session, Hit.__table__, hit_values(item, config_hash))
            if hit_id is None:
                saved.already_stored += 1
                continue
            saved.hit_ids.append(hit_id)
            if alert:
                _alert_hit(session, saved, item.match.rule, stories[item.article_id], hit_id,
                           channels_for_rule, former_names.get(item.match.rule, ()))
        session.commit()
    return saved


def hit_values(item: FoundHit, config_hash: str) -> dict:
    match = item.match
    return {
        "rule": match.rule,
        "rule_hash": match.rule_hash,
        "config_hash": config_hash,
        "article_id": item.article_id,
        "terms": json.dumps([clean_text(t, 200) for t in match.terms], ensure_ascii=False),
        "fields": json.dumps(list(match.fields)),
        "snippet": clean_text(match.snippet, 2000) or "",
        "marks": json.dumps([list(m) for m in match.marks]),
        "baseline": False,
        "backfilled": True,
        "found_at": utcnow(),
    }


def _alert_hit(session: Session, saved: BackfillSaved, rule: str, story_id: int, hit_id: int,
               channels_for_rule, former_names: Sequence[str]) -> None:
    alerted_before = story_claimed(session, former_names, story_id)
    if claim_story(session, rule, story_id, hit_id) and not alerted_before:
        saved.alerting_hit_ids.append(hit_id)
        for channel in channels_for_rule(rule):
            session.add(Delivery(hit_id=hit_id, channel=channel))
            saved.deliveries += 1


def story_claimed(session: Session, rules: Sequence[str], story_id: int) -> bool:
    """Did one of these rule names already alert this story?"""
    if not rules:
        return False
    return session.execute(select(StoryAlert.id).where(StoryAlert.rule.in_(list(rules)),
                                                       StoryAlert.story_id == story_id).limit(1)).first() is not None
