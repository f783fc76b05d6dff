"""`newswatch rules spikes`: the spikes the current settings would have raised over stored history.

Read only: nothing is stored or sent, so `spikes:` settings (window, min_stories,
sensitivity) can be tuned before they go live. A rule without `spikes:` is tried with the
defaults (`spikes_enabled: false` in --json). Exit codes as in `newswatch.commands`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone

from newswatch.commands import EXIT_BAD_CONFIG, EXIT_FAILED, EXIT_OK, load_or_report, print_json

DEFAULT_SPAN = timedelta(days=30)


def cmd_rules_spikes(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from store import database
    from store.events import backtest_spikes

    rules = [rule for rule in config.rules if args.rule in (None, rule.name)]
    if not rules:
        print(f"newswatch: no rule named {args.rule!r} in rules.yaml "
              f"(rules: {', '.join(rule.name for rule in config.rules)})", file=sys.stderr)
        return EXIT_FAILED
    since = args.since or datetime.now(timezone.utc) - DEFAULT_SPAN
    with database(config.settings.database_url) as engine:
        spikes = backtest_spikes(engine, rules, since)
    if args.json:
        print_json([spike.to_json() for spike in spikes])
        return EXIT_OK
    for spike in spikes:
        tried = "" if spike.enabled else "  (spikes not enabled: tried with the defaults)"
        print(f"[{spike.rule}] {spike.start:%Y-%m-%d %H:%M} to {spike.end:%Y-%m-%d %H:%M} UTC: "
              f"{spike.stories} stories, {spike.expected:g} expected{tried}")
    print(f"{len(spikes)} spike(s) since {since:%Y-%m-%d %H:%M} UTC in {len(rules)} rule(s); nothing was sent",
          file=sys.stderr)
    return EXIT_OK
