"""`newswatch rules preview`, `newswatch backfill` and `newswatch rules explain`.

`rules preview` and `backfill` try a rule change on the stored history; `rules explain`
lists what a pack reference (`@country:KP`) or an alias stands for, per language.

`rules preview` writes and sends nothing; `backfill` stores what the preview calls `new`
(see flows/preview.py and flows/backfill.py for the contracts). Exit codes as in
`newswatch.commands`: 0 done, 1 unknown `--rule`, 2 invalid config.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from newswatch.commands import EXIT_BAD_CONFIG, EXIT_FAILED, EXIT_OK, load_or_report, print_json

SHOWN = 20  # articles listed per rule and kind in the text output


@contextmanager
def articles_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar of the stored articles matched, on stderr when it is a terminal (rich, as
    Prefect installs it); nothing otherwise, so pipes and --json output stay clean."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(label, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def cmd_rules_preview(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from flows.preview import UnknownRule, preview_rules

    try:
        with articles_bar("previewing") as progress:
            preview = preview_rules(config, rule=args.rule, since=args.since, progress=progress)
    except UnknownRule as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print_json(preview.to_json())
        return EXIT_OK
    data = preview.to_json()
    for rule in data["rules"]:
        print_rule_preview(rule)
    print(f"{data['articles']} stored article(s) matched; nothing was stored or sent "
          "(newswatch backfill stores the new hits)", file=sys.stderr)
    return EXIT_OK


def print_rule_preview(rule: dict) -> None:
    print(f"[{rule['rule']}] {describe_status(rule)}")
    if rule["status"] == "deleted":
        return
    print(f"    would hit {rule['would_hit']}: {len(rule['new'])} new, {len(rule['gone'])} gone, "
          f"{len(rule['unchanged'])} unchanged")
    for sign, kind in (("+", "new"), ("-", "gone")):
        for article in rule[kind][:SHOWN]:
            print(f"  {sign} {article['title'] or '(no title)'}  ({article['feed']})\n      {article['url']}")
        if len(rule[kind]) > SHOWN:
            print(f"  {sign} ... and {len(rule[kind]) - SHOWN} more (--json lists all)")


def describe_status(rule: dict) -> str:
    versions = ", ".join(f"{h}: {n}" for h, n in rule["stored_versions"].items())
    if rule["status"] == "deleted":
        return f"deleted: not in rules.yaml, {rule['stored_hits']} stored hit(s) (versions {versions})"
    if rule["status"] == "renamed":
        return f"renamed from {', '.join(map(repr, rule['former_names']))} (version {rule['rule_hash']})"
    if rule["status"] == "new":
        return f"new: no stored hit yet (version {rule['rule_hash']})"
    if rule["status"] == "changed":
        return f"changed: now version {rule['rule_hash']}; stored hits by versions {versions}"
    return f"unchanged (version {rule['rule_hash']})"


def cmd_rules_explain(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from matching.namepacks import PackError, describe_reference

    try:
        described = describe_reference(args.reference.strip().lstrip("@"), config.aliases)
    except PackError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print_json(described)
        return EXIT_OK
    print(describe_name_count(described))
    for language, names in described["languages"].items():
        print(f"  {language}: {'; '.join(names)}")
    if described["custom"]:
        print(f"  rules.yaml: {'; '.join(described['custom'])}")
    if described["forms"]:
        print("inflected forms also matched (quote a name to match it as written only):")
        for word, forms in described["forms"].items():
            print(f"  {word}: {', '.join(forms)}")
    return EXIT_OK


def describe_name_count(described: dict) -> str:
    """`@country:KP: 412 names in 40 languages (+1 ...)`; an alias of the user's own has no
    languages, only its entries: `@dprk: 4 names (an alias of rules.yaml)`."""
    head = f"{described['reference']}: {described['name_count']} names"
    if not described["language_count"]:
        return f"{head} (an alias of rules.yaml)"
    return f"{head} in {described['language_count']} languages (+{len(described['custom'])} of your own in rules.yaml)"


def cmd_backfill(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from flows.backfill import backfill_rules
    from flows.preview import UnknownRule

    try:
        with articles_bar("backfilling") as progress:
            report = backfill_rules(config, rule=args.rule, since=args.since, alert=args.alert, progress=progress)
    except UnknownRule as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for rule, found in report.per_rule.items():
        print(f"[{rule}] {found} new hit(s)")
    saved = report.saved
    how = (f"{len(saved.alerting_hit_ids)} alerting, {saved.deliveries} deliveries queued, of them "
           f"{len(saved.earlier_hit_ids)} hit(s) stored earlier and never alerted" if args.alert
           else "recorded as backfilled, no alert")
    print(f"backfill: {len(saved.hit_ids)} hit(s) stored from {report.preview.articles} stored article(s) ({how})")
    if report.relay is not None:
        relay = report.relay
        print(f"alerts: {relay.sent} sent, {relay.summarized} in summaries, {relay.failed} failed "
              f"(failed ones stay pending for the next pass)")
    return EXIT_OK
