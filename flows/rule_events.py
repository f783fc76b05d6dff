"""The pass's step after storing: record the spikes and story updates its hits caused.

Plain code, called by `flows.run_pass.run_pass` between storing and delivering, so the
relay that follows sends the new events' alerts in the same pass. Events go to the rule's
instant channels only: a digest already groups a rule's stories, and says how far each spread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from config.models import Config
from store.events import record_rule_events

log = logging.getLogger("newswatch.events")


def instant_channels(config: Config, rule_name: str) -> tuple[str, ...]:
    rule = next(rule for rule in config.rules if rule.name == rule_name)
    return tuple(name for name in config.channels_for(rule) if config.channels[name].mode != "digest")


def record_events(config: Config, engine, hit_ids: Sequence[int]) -> list[int]:
    """Judge the rules that hit in this pass; the ids of the events recorded (their alerts queued)."""
    recorded = record_rule_events(engine, config.rules, lambda rule: instant_channels(config, rule), hit_ids)
    if recorded:
        log.info("recorded %d rule event(s) (spikes, story updates): alerts queued", len(recorded))
    return recorded
