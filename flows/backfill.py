"""`newswatch backfill`: store the hits that new or changed rules find among stored articles.

Plain functions, no Prefect. The hits stored are exactly the `new` ones of
`flows.preview` (articles a rule hits now and has no stored hit for, under its name or
a former name), marked `backfilled`. Hits a rule would no longer find are kept.

Without `alert` no delivery is queued, so neither this command nor any later pass sends
anything for them. With `alert` each hit goes through the outbox like a pass's hit (one
pending delivery per channel of the rule; the story claim keeps copies of a story the
rule already alerted silent), and so do the rule's stored hits in the window that it
still matches and that were never alerted (stored by an earlier quiet backfill, on a
feed's first poll, or while the rule had no channel; never one with any outbox row,
so nothing is sent twice), and the relay runs at once, as at the end of a pass:
storm control and cooldowns apply, a delivery that fails stays pending for the next pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from alerts import RelayReport, send_pending
from config.models import Config
from flows.history_match import Progress
from flows.preview import Preview, RulePreview, preview_stored
from store import database
from store.backfill import BackfillSaved, EarlierHit, FoundHit, save_backfill_hits


@dataclass
class BackfillReport:
    preview: Preview
    saved: BackfillSaved
    relay: RelayReport | None = None  # with --alert
    per_rule: dict[str, int] = field(default_factory=dict)  # rule -> hits stored now


def backfill_rules(config: Config, *, rule: str | None = None, since: datetime | None = None,
                   alert: bool = False, progress: Progress | None = None) -> BackfillReport:
    """Store every rule's (or one rule's) new hits among the stored articles; with `alert`, send them.
    `progress(done, total)` follows the articles matched."""
    with database(config.settings.database_url) as engine:
        preview = preview_stored(engine, config, rule=rule, since=since, progress=progress)
        rules = [p for p in preview.rules if p.status != "deleted"]
        found = [FoundHit(article_id, p.would_hit[article_id]) for p in rules for article_id in p.new]
        saved = save_backfill_hits(engine, found, alert=alert, channels_for_rule=_channels_for(config),
                                   config_hash=config.config_hash, former_names=former_names(rules),
                                   earlier=earlier_hits(rules) if alert else ())
        relay = send_pending(engine, config.channels, config.settings.alerts, rules=config.rules) if alert else None
    return BackfillReport(preview, saved, relay, {p.rule: len(p.new) for p in rules})


def earlier_hits(rules: list[RulePreview]) -> list[EarlierHit]:
    """The stored hits (under the rule's current name) that the rule, as written now, still finds."""
    return [EarlierHit(p.stored[article_id].hit_id, p.rule, article_id) for p in rules for article_id in p.unchanged
            if p.stored[article_id].rule == p.rule]


def former_names(rules: list[RulePreview]) -> dict[str, tuple[str, ...]]:
    return {p.rule: p.former_names for p in rules if p.former_names}


def _channels_for(config: Config):
    by_name = {rule.name: rule for rule in config.rules}
    return lambda name: config.channels_for(by_name[name])
