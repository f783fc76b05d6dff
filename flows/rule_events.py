"""The pass's step after storing: record the spikes and story updates its hits caused.

Plain code, called by `flows.run_pass.run_pass` between storing and delivering, so the
relay that follows sends the new events' alerts in the same pass. Events go to the rule's
instant channels only: a digest already groups a rule's stories, and says how far each spread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from config.models import Config
from store.events import record_rule_events

log = logging.getLogger("newswatch.events")


def instant_channels(config: Config, rule_name: str) -> tuple[str, ...]:
    rule = next(rule for rule in config.rules if rule.name == rule_name)
    return tuple(name for name in config.channels_for(rule) if config.channels[name].mode != "digest")


def record_events(config: Config, engine, hit_ids: Sequence[int]) -> list[int]:
    """Judge the rules that hit in this pass; the ids of the events recorded (their alerts queued).
    A database error here (a lock held too long) is logged and the pass goes on to send its hits'
    alerts: the next pass with hits for the rule judges it again, and a spike still under way is
    recorded then."""
    try:
        recorded = record_rule_events(engine, config.rules, lambda rule: instant_channels(config, rule), hit_ids)
    except SQLAlchemyError as exc:
        log.warning("spikes and story updates not recorded in this pass (the hits' alerts go out): %s: %s",
                    type(exc).__name__, exc)
        return []
    if recorded:
        log.info("recorded %d rule event(s) (spikes, story updates): alerts queued", len(recorded))
    return recorded
