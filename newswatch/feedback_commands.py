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
    from store.labels import find_targets, hits_of_other_rules, save_labels

    with database(config.settings.database_url) as engine:
        found, unknown = find_targets(engine, args.targets)
        if unknown:
            print(f"newswatch: not a stored article URL or hit id: {', '.join(map(repr, unknown))} "
                  "(nothing was labelled; `newswatch hits --json` lists hit ids and URLs)", file=sys.stderr)
            return EXIT_FAILED
        saved = save_labels(engine, rule.name, rule.content_hash, found.values(), args.relevant)
        others = hits_of_other_rules(engine, args.targets, rule.name)
    for target, other in others.items():  # allowed (a story the rule missed), but said: it may be a slip
        print(f"note: hit {target} is a hit of rule {other!r}; its article is labelled for {rule.name!r}",
              file=sys.stderr)
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


def cmd_rules_stats(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    if args.rule is not None and find_rule(config, args.rule) is None:
        return EXIT_FAILED
    from flows.feedback import rule_stats
    from store import database

    with database(config.settings.database_url) as engine:
        rows = rule_stats(engine, config, args.rule)
    if args.json:
        print_json(rows)
        return EXIT_OK
    print(f"{'rule':24} {'version':12} {'hits':>6} {'labelled':>8} {'relevant':>8} {'irrelev.':>8} "
          f"{'precision (95%)':>22} {'missed':>6}")
    for row in rows:
        print(f"{row['rule'][:24]:24} {row['rule_hash'][:10] + ('*' if row['current'] else ''):12} {row['hits']:>6} "
              f"{row['labelled']:>8} {row['relevant']:>8} {row['irrelevant']:>8} {describe_precision(row):>22} "
              f"{row['missed']:>6}")
    print("* the version in rules.yaml (judged by matching the labelled articles; older versions by their "
          "stored hits). missed: stories labelled relevant that the version does not hit", file=sys.stderr)
    return EXIT_OK


def describe_precision(row: dict) -> str:
    if row["precision"] is None:
        return "no labelled hit"
    return f"{row['precision']:.2f} ({row['precision_low']:.2f}-{row['precision_high']:.2f})"


def cmd_rules_suggest(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    if args.apply and args.rule is None:
        print("newswatch: --apply needs --rule NAME (one rule's query is rewritten)", file=sys.stderr)
        return EXIT_FAILED
    rules = list(config.rules) if args.rule is None else [find_rule(config, args.rule)]
    if None in rules:
        return EXIT_FAILED
    from flows.feedback import suggest_edits
    from newswatch.validation import example_inputs
    from store import database

    with database(config.settings.database_url) as engine:
        reports = [report for rule in rules
                   for report in suggest_edits(engine, config, rule, example_inputs(config, rule))]
        if args.apply:
            return apply_best(config, rules[0], reports, engine)
    if args.json:
        print_json([report.to_json() for report in reports])
        return EXIT_OK
    for report in reports:
        print_suggestion(report.to_json())
    if not reports:
        print("no suggestion: the labels back no change of the rules (label more with `newswatch label`; "
              "`newswatch rules candidates --rule NAME` says where)")
    return EXIT_OK


def print_suggestion(data: dict) -> None:
    print(f"[{data['rule']}] {data['query']}\n    {data['change']}")
    print(f"    labelled: fixes {len(data['fixes'])}, breaks {len(data['breaks'])}; stored articles: "
          f"+{len(data['gained'])} gained, -{len(data['lost'])} lost (as `rules preview` reports)")
    for broken in data["breaks"]:
        print(f"    breaks: {broken['title'] or '(no title)'} ({broken['label']})  {broken['url']}")


def apply_best(config, rule, reports, engine) -> int:
    from config.rules_edit import RuleEditError
    from flows.feedback import apply_suggestion
    from store.labels import rule_labels

    if not reports:
        print(f"[{rule.name}] no suggestion to apply: rules.yaml is unchanged")
        return EXIT_OK
    best = reports[0]
    try:
        match, no_match = apply_suggestion(config, rule, best, rule_labels(engine, rule.name))
    except RuleEditError as exc:
        print(f"newswatch: {exc}\n  suggested query: {best.suggestion.query}", file=sys.stderr)
        return EXIT_FAILED
    print_suggestion(best.to_json())
    print(f"[{rule.name}] rules.yaml updated: new query, {len(match)} match and {len(no_match)} no_match "
          f"example(s) added; `newswatch backfill --rule {rule.name!r}` stores the new version's hits")
    return EXIT_OK


def cmd_rules_candidates(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    rule = find_rule(config, args.rule)
    if rule is None:
        return EXIT_FAILED
    from flows.feedback import list_candidates
    from store import database

    with database(config.settings.database_url) as engine:
        chosen = list_candidates(engine, config, rule, args.limit)
    if args.json:
        print_json(chosen)
        return EXIT_OK
    for candidate in chosen:
        print(f"{'HIT ' if candidate['hit'] else 'MISS'} {candidate['title'] or '(no title)'}\n"
              f"     {candidate['url']}\n     why: {candidate['why']}")
    print(f"{len(chosen)} candidate(s); label them with `newswatch label --rule {rule.name!r} "
          "--relevant|--irrelevant URL...`", file=sys.stderr)
    return EXIT_OK


def add_rules_parsers(rules_sub, common: argparse.ArgumentParser, positive_int) -> None:
    """`rules stats`, `rules suggest`, `rules candidates`."""
    stats = rules_sub.add_parser("stats", parents=[common], help="precision per rule and version, from labels")
    stats.add_argument("--rule", metavar="NAME", help="only this rule")
    stats.add_argument("--json", action="store_true", help="print a JSON list")
    stats.set_defaults(func=cmd_rules_stats)
    suggest = rules_sub.add_parser("suggest", parents=[common], help="query edits learned from the labels")
    suggest.add_argument("--rule", metavar="NAME", help="only this rule (default: every rule)")
    suggest.add_argument("--json", action="store_true", help="print a JSON list, best first")
    suggest.add_argument("--apply", action="store_true",
                         help="write the best suggestion and its deciding examples into rules.yaml")
    suggest.set_defaults(func=cmd_rules_suggest)
    candidates = rules_sub.add_parser("candidates", parents=[common], help="stored articles worth labelling next")
    candidates.add_argument("--rule", metavar="NAME", required=True, help="the rule to teach")
    candidates.add_argument("--limit", type=positive_int, default=20, help="at most this many (default 20)")
    candidates.add_argument("--json", action="store_true", help="print a JSON list, best first")
    candidates.set_defaults(func=cmd_rules_candidates)
