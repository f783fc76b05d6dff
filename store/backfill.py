"""Store the hits a new or changed rule finds among stored articles (`newswatch backfill`).

`save_backfill_hits` writes, in one transaction, one hit per (rule, article) not stored
yet, marked `backfilled`. The Hit's unique key (rule, article_id) decides "already
stored": an article the rule hit before, in any version, is never stored twice.

Without `alert` no delivery is queued and no story is claimed, exactly as for baseline
hits: the history shows them, nobody is told. With `alert` the new hits, and the stored
hits of the rule in the window that were never alerted (`earlier`: no outbox row at all,
e.g. stored by an earlier quiet backfill, on a first poll, or while the rule had no
channel), go through the outbox like a pass's hit: the story claim decides whether each
alerts (`store.stories.claim_stories`: the rule's first alerting hit in a story does; a
copy of a story it already alerted does not, nor does a story alerted under one of the
rule's former names, `former_names`), and an alerting hit gets one pending delivery per
channel. A hit with any outbox row is never queued again, so nothing is sent twice.
Sending is the relay's business, never this one's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlmodel import Session

from matching.models import RuleMatch
from store.stories import claim_stories, in_chunks, story_ids
from store.tables import Delivery, Hit, StoryAlert, utcnow
from store.text import clean_text
from store.upsert import insert_ignore


@dataclass(frozen=True)
class FoundHit:
    """A rule matching a stored article, found now."""

    article_id: int
    match: RuleMatch


@dataclass(frozen=True)
class EarlierHit:
    """A stored hit of a current rule (under its current name), matching now, for `--alert`."""

    hit_id: int
    rule: str
    article_id: int


@dataclass
class BackfillSaved:
    hit_ids: list[int] = field(default_factory=list)  # stored now
    alerting_hit_ids: list[int] = field(default_factory=list)  # new or earlier hits: deliveries queued
    earlier_hit_ids: list[int] = field(default_factory=list)  # of alerting_hit_ids: stored before, never alerted
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
    earlier: Sequence[EarlierHit] = (),
) -> BackfillSaved:
    """Store the found hits as backfilled; with `alert`, queue deliveries for those that alert,
    and for the `earlier` hits never alerted."""
    saved = BackfillSaved()
    with Session(engine) as session:
        stories = story_ids(session, [item.article_id for item in found] + [hit.article_id for hit in earlier])
        new = []
        for item in found:
            hit_id = insert_ignore(session, Hit.__table__, hit_values(item, config_hash))
            if hit_id is None:
                saved.already_stored += 1
                continue
            saved.hit_ids.append(hit_id)
            new.append((item.match.rule, stories[item.article_id], hit_id))
        if alert:
            unalerted = never_alerted(session, [hit.hit_id for hit in earlier])
            candidates = [(hit.rule, stories[hit.article_id], hit.hit_id) for hit in earlier
                          if hit.hit_id in unalerted]
            queue_alerts(session, saved, candidates + new, channels_for_rule, former_names or {})
            saved.earlier_hit_ids = [hit_id for hit_id in saved.alerting_hit_ids if hit_id in unalerted]
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


def never_alerted(session: Session, hit_ids: Sequence[int]) -> set[int]:
    """The hits without any outbox row (never queued, so never sent)."""
    queued: set[int] = set()
    for chunk in in_chunks(list(hit_ids)):
        queued.update(session.execute(select(Delivery.hit_id).where(Delivery.hit_id.in_(chunk))).scalars())
    return set(hit_ids) - queued


def queue_alerts(session: Session, saved: BackfillSaved, candidates: Sequence[tuple[str, int, int]],
                 channels_for_rule: Callable[[str], Sequence[str]], former_names: Mapping[str, Sequence[str]]) -> None:
    """Queue one delivery per channel for each (rule, story, hit) that claims its story."""
    candidates = [(rule, story, hit_id) for rule, story, hit_id in candidates
                  if not story_claimed(session, former_names.get(rule, ()), story)]
    claimed = claim_stories(session, candidates)
    for rule, _, hit_id in candidates:
        channels = channels_for_rule(rule) if hit_id in claimed else ()
        if channels:
            saved.alerting_hit_ids.append(hit_id)
        for channel in channels:
            saved.deliveries += insert_ignore(session, Delivery.__table__, {
                "hit_id": hit_id, "channel": channel, "status": "pending", "attempts": 0,
                "next_attempt_at": utcnow(), "created_at": utcnow()}) is not None


def story_claimed(session: Session, rules: Sequence[str], story_id: int) -> bool:
    """Did one of these rule names already alert this story?"""
    if not rules:
        return False
    return session.execute(select(StoryAlert.id).where(StoryAlert.rule.in_(list(rules)),
                                                       StoryAlert.story_id == story_id).limit(1)).first() is not None
