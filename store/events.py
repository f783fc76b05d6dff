"""Rule events: volume spikes and stories that spread, recorded once with their outbox rows.

`record_rule_events` runs after a pass has stored its hits, for the rules that hit in it:
- a rule with `spikes` has its last window judged (`store.spikestats.judge_window`) on its
  distinct stories (`store.volume`); a spike whose window overlaps the rule's last recorded
  spike is the same spike (its end and count are moved on, nothing is alerted again), else a
  new `spike` event is written with one `EventDelivery` per channel, in one transaction;
- a rule with `story_updates: N` looks at the alerted stories this pass added copies to: a
  story carried by N more outlets than when it was alerted (or last updated), or reaching a
  new language, gets one `story_update` event. Its key is the story and the UTC day, so a story
  updates at most once a day, however many outlets pick it up.
The unique `(rule, kind, key)` makes each event (and so its alert) once, even when two passes
record it at the same moment. The relay (`alerts.events`) claims, sends and records the
deliveries like a hit's (`store.event_outbox`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from config.models import RuleConfig, SpikeConfig
from store.dialect import lock_transaction
from store.event_outbox import EventView, view_event
from store.spikestats import BASELINE, WEEK, WEEKS_BACK, find_spikes, judge_window
from store.stories import in_chunks, story_ids
from store.tables import Article, Delivery, EventDelivery, Hit, RuleEvent, StoryAlert, as_utc, utcnow
from store.upsert import insert_ignore
from store.views import iso_utc
from store.volume import StoryOutline, story_outlines, story_times

TOP_STORIES = 5
HISTORY_NEEDED = max(BASELINE, WEEK * WEEKS_BACK)
EVENTS_LOCK = 7_460_015  # beside store.stories.STORY_LOCK (7_460_014) and the migrations' 7_460_013


def record_rule_events(engine: Engine, rules: Sequence[RuleConfig], channels_for_rule: Callable[[str], Sequence[str]],
                       hit_ids: Sequence[int], now: datetime | None = None) -> list[int]:
    """Judge the rules that hit in this pass (`hit_ids`); the ids of the events recorded."""
    now, watched = now or utcnow(), [rule for rule in rules if rule.spikes or rule.story_updates]
    if not watched or not hit_ids:
        return []
    recorded: list[int] = []
    with Session(engine) as session:
        lock_events(session)
        hits = _hits_by_rule(session, hit_ids)
        for rule in watched:
            if rule.name not in hits:
                continue
            channels = channels_for_rule(rule.name)
            if rule.spikes:
                recorded += _record_spike(session, rule, channels, now)
            if rule.story_updates:
                recorded += _record_story_updates(session, rule, hits[rule.name], channels, now)
        session.commit()
    return recorded


def lock_events(session: Session) -> None:
    """Two passes judging at once (shards) must not both record one spike: the second waits
    for the first's commit and sees its event. SQLite's writers are serialised already (BEGIN
    IMMEDIATE); on PostgreSQL a transaction-scoped advisory lock does it."""
    lock_transaction(session, EVENTS_LOCK)


def _hits_by_rule(session: Session, hit_ids: Sequence[int]) -> dict[str, list[int]]:
    """rule -> the article ids of its hits among `hit_ids`."""
    found: dict[str, list[int]] = {}
    for chunk in in_chunks(list(hit_ids)):
        for rule, article_id in session.execute(select(Hit.rule, Hit.article_id).where(Hit.id.in_(chunk))):
            found.setdefault(rule, []).append(article_id)
    return found


def _record_spike(session: Session, rule: RuleConfig, channels: Sequence[str], now: datetime) -> list[int]:
    window = timedelta(hours=rule.spikes.window_hours)
    times = story_times(session, rule.name, now - window - HISTORY_NEEDED)
    # an imported archive builds the baseline but is no news: its stories never make the window spike
    times = [story for story in times if not (story.imported and story.at > now - window)]
    verdict = judge_window([story.at for story in times], now, rule.spikes)
    if verdict is None or not verdict.spike:
        return []
    last = session.exec(select(RuleEvent).where(RuleEvent.rule == rule.name, RuleEvent.kind == "spike")
                        .order_by(RuleEvent.window_end.desc()).limit(1)).first()
    if last is not None and as_utc(last.window_end) >= verdict.start:
        last.window_end, last.stories = now, max(last.stories, verdict.stories)
        session.add(last)
        return []
    in_window = [story.story_id for story in times if verdict.start < story.at <= verdict.end]
    details = {"window_hours": rule.spikes.window_hours, "probability": verdict.probability,
               "top": [outline.to_json() for outline in top_stories(session, in_window)]}
    key = verdict.start.replace(minute=0, second=0, microsecond=0).isoformat()
    return queue_event(session, dict(rule=rule.name, kind="spike", key=key, window_start=verdict.start,
                                      window_end=verdict.end, stories=verdict.stories, expected=verdict.expected,
                                      details=json.dumps(details, ensure_ascii=False), created_at=now), channels, now)


def top_stories(session: Session, stories: Sequence[int], limit: int = TOP_STORIES) -> list[StoryOutline]:
    """The stories carried by the most outlets (then the newest) first."""
    outlines = story_outlines(session, stories)
    ranked = sorted(outlines.values(), key=lambda o: (-len(o.outlets), -max(o.article_ids)))
    return ranked[:limit]


def _record_story_updates(session: Session, rule: RuleConfig, article_ids: list[int], channels: Sequence[str],
                          now: datetime) -> list[int]:
    stories = set(story_ids(session, article_ids).values())
    alerted = dict(session.execute(select(StoryAlert.story_id, StoryAlert.hit_id)
                                   .where(StoryAlert.rule == rule.name, StoryAlert.story_id.in_(list(stories)))).all())
    if not alerted:
        return []
    recorded = []
    for story, outline in story_outlines(session, alerted).items():
        outlets, languages = _reference(session, rule.name, outline, alerted[story])
        new_outlets = [o for o in outline.outlets if o not in outlets]
        new_languages = [lang for lang in outline.languages if lang not in languages]
        if len(new_outlets) < rule.story_updates and not new_languages:
            continue
        details = outline.to_json() | {"new_outlets": new_outlets, "new_languages": new_languages}
        recorded += queue_event(session, dict(rule=rule.name, kind="story_update", key=f"{story}:{now:%Y-%m-%d}",
                                               story_id=story, stories=len(outline.outlets),
                                               details=json.dumps(details, ensure_ascii=False), created_at=now),
                                 channels, now)
    return recorded


def _reference(session: Session, rule: str, outline: StoryOutline, alert_hit: int) -> tuple[set, set]:
    """The outlets and languages the reader has been told of: at the last update, else in the
    alert (which lists every copy stored before it was sent; an alert not sent yet will list
    them all)."""
    last = session.exec(select(RuleEvent.details).where(RuleEvent.rule == rule, RuleEvent.kind == "story_update",
                                                        RuleEvent.story_id == outline.story_id)
                        .order_by(RuleEvent.id.desc()).limit(1)).first()
    if last is not None:
        told = json.loads(last)
        return set(told.get("outlets", [])), set(told.get("languages", []))
    sent_at = session.exec(select(func.min(Delivery.sent_at)).where(
        Delivery.hit_id == alert_hit, Delivery.status.in_(["sent", "summarized"]))).one()
    known = list(outline.article_ids)
    if sent_at is not None:
        known = list(session.exec(select(Article.id).where(Article.id.in_(known), Article.fetched_at <= sent_at)))
    return {outline.feed_of[a] for a in known}, {outline.language_of[a] for a in known} - {""}


def queue_event(session: Session, values: dict, channels: Sequence[str], now: datetime) -> list[int]:
    """The event and its outbox rows, unless its key was recorded already (then nothing)."""
    event_id = insert_ignore(session, RuleEvent.__table__, values)
    if event_id is None:
        return []
    for channel in channels:
        session.add(EventDelivery(event_id=event_id, channel=channel, next_attempt_at=now, created_at=now))
    return [event_id]


def list_events(engine: Engine, *, rule: str | None = None, since: datetime | None = None,
                kind: str | None = None) -> list[EventView]:
    """Recorded events, oldest first."""
    query = select(RuleEvent).order_by(RuleEvent.id)
    if rule is not None:
        query = query.where(RuleEvent.rule == rule)
    if kind is not None:
        query = query.where(RuleEvent.kind == kind)
    if since is not None:
        query = query.where(RuleEvent.created_at >= since)
    with Session(engine) as session:
        return [view_event(event) for event in session.exec(query)]


@dataclass(frozen=True)
class BacktestSpike:
    """A spike the rule's settings would have raised over stored history (`newswatch rules spikes`)."""

    rule: str
    start: datetime
    end: datetime
    stories: int
    expected: float
    enabled: bool  # the rule has `spikes` on (else the defaults were tried)

    def to_json(self) -> dict:
        return {"rule": self.rule, "start": iso_utc(self.start), "end": iso_utc(self.end), "stories": self.stories,
                "expected": self.expected, "spikes_enabled": self.enabled}


def backtest_spikes(engine: Engine, rules: Sequence[RuleConfig], since: datetime,
                    until: datetime | None = None) -> list[BacktestSpike]:
    """Replay the spike decision hour by hour over (since, until] for each rule (with its
    `spikes` settings, or the defaults when it has none), on the stored stories."""
    until, found = until or utcnow(), []
    with Session(engine) as session:
        for rule in rules:
            settings = rule.spikes or SpikeConfig()
            first = since - timedelta(hours=settings.window_hours) - HISTORY_NEEDED
            times = [story.at for story in story_times(session, rule.name, first)]
            found += [BacktestSpike(rule.name, spike.start, spike.end, spike.stories, spike.expected,
                                    rule.spikes is not None) for spike in find_spikes(times, since, until, settings)]
    return sorted(found, key=lambda spike: (spike.start, spike.rule))
