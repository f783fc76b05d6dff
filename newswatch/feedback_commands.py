"""`newswatch label` and `newswatch rules stats|suggest|candidates`: rules that learn from the analyst.

Exit codes as in `newswatch.commands`: 0 done, 1 unknown rule or target (nothing written),
2 invalid config.
"""

from __future__ import annotations

import argparse
import sys

from newswatch.commands import EXIT_BAD_CONFIG, EXIT_FAILED, EXIT_OK, load_or_report, print_json


def find_rule(config, name: str):
    """The rule of rules.yaml called `name`, or None after saying which rules there are."""
    for rule in config.rules:
        if rule.name == name:
            return rule
    print(f"newswatch: no rule named {name!r} in rules.yaml "
          f"(rules: {', '.join(rule.name for rule in config.rules)})", file=sys.stderr)
    return None


def cmd_label(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    rule = find_rule(config, args.rule)
    if rule is None:
        return EXIT_FAILED
    from store import database
    from store.labels import find_targets, save_labels

    with database(config.settings.database_url) as engine:
        found, unknown = find_targets(engine, args.targets)
        if unknown:
            print(f"newswatch: not a stored article URL or hit id: {', '.join(map(repr, unknown))} "
                  "(nothing was labelled; `newswatch hits --json` lists hit ids and URLs)", file=sys.stderr)
            return EXIT_FAILED
        saved = save_labels(engine, rule.name, rule.content_hash, found.values(), args.relevant)
    answer = "relevant" if args.relevant else "irrelevant"
    print(f"[{rule.name}] {saved.added + saved.changed + saved.unchanged} article(s) labelled {answer}: "
          f"{saved.added} new, {saved.changed} changed, {saved.unchanged} already so")
    return EXIT_OK


def add_label_parser(sub) -> None:
    """`newswatch label --rule NAME (--relevant | --irrelevant) TARGET...`"""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="DIR", default=argparse.SUPPRESS,
                        help="config directory (default: ./config or $NEWSWATCH_CONFIG)")
    label = sub.add_parser("label", parents=[common], help="tell a rule whether articles are relevant to it")
    label.add_argument("--rule", metavar="NAME", required=True, help="the rule the judgement is for")
    answer = label.add_mutually_exclusive_group(required=True)
    answer.add_argument("--relevant", dest="relevant", action="store_true", help="the rule should hit them")
    answer.add_argument("--irrelevant", dest="relevant", action="store_false", help="the rule should not")
    label.add_argument("targets", nargs="+", metavar="TARGET", help="a stored article's URL or a hit id")
    label.set_defaults(func=cmd_label)
