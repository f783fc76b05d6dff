"""`newswatch`: the command line, the front door to every stage.

Every command takes `--config DIR` (default `./config`, or $NEWSWATCH_CONFIG).
"""

from __future__ import annotations

import argparse
import os
import sys

from newswatch.timeparse import parse_since, parse_until

CONFIG_HELP = "config directory (default: ./config or $NEWSWATCH_CONFIG)"


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def build_parser() -> argparse.ArgumentParser:
    # The commands are imported here, not with the module: a worker process started by `spawn`
    # imports the parent's main module again, and the `newswatch` script's is this one, so a
    # module-level import would load the store, the extractor and the alerts into each extraction worker.
    from newswatch import commands, feedback_commands, import_command, rule_commands, spike_commands, status

    # --config works before or after the command; after it, SUPPRESS keeps the one given before
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="DIR", default=argparse.SUPPRESS, help=CONFIG_HELP)
    parser = argparse.ArgumentParser(prog="newswatch", description="Scheduled news monitoring with watch rules.")
    parser.add_argument("--config", metavar="DIR", default=None, help=CONFIG_HELP)
    parser.add_argument("--version", action="version", version=f"newswatch {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="one monitoring pass, then a summary")
    run.add_argument("--json", action="store_true", help="print the pass summary as JSON")
    run.set_defaults(func=commands.cmd_run)

    serve = sub.add_parser("serve", parents=[common], help="run the monitor on the configured schedule")
    serve.set_defaults(func=commands.cmd_serve)

    health = sub.add_parser("status", parents=[common],
                            help="is the monitor working: last and next pass, feeds failing/parked/silent, alerts")
    health.add_argument("--json", action="store_true", help="print a JSON object")
    health.set_defaults(func=status.cmd_status)

    digest = sub.add_parser("digest", parents=[common], help="send the digests that are due, once")
    digest.add_argument("--channel", metavar="NAME", help="only this digest channel (default: every one)")
    digest.set_defaults(func=commands.cmd_digest)

    check = sub.add_parser("check", parents=[common], help="validate the config and run rule examples")
    check.set_defaults(func=commands.cmd_check)

    hits = sub.add_parser("hits", parents=[common], help="past hits, newest first")
    hits.add_argument("--rule", help="only this rule's hits")
    hits.add_argument("--feed", metavar="NAME_OR_URL", help="only hits on this feed's articles")
    hits.add_argument("--story", type=int, metavar="ID", help="only hits on articles of this story")
    hits.add_argument("--since", type=parse_since, help="found since: a date (2026-11-27) or a span (24h, 7d)")
    hits.add_argument("--until", type=parse_until, help="found before: a date (inclusive: to its end) or a span")
    hits.add_argument("--limit", type=positive_int, default=None, help="at most this many hits")
    output = hits.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON array")
    output.add_argument("--csv", action="store_true", help="print CSV: the --json keys as columns")
    hits.set_defaults(func=commands.cmd_hits)

    backfill = sub.add_parser("backfill", parents=[common],
                              help="store the hits new or changed rules find among stored articles")
    backfill.add_argument("--rule", metavar="NAME", help="only this rule (default: every rule)")
    backfill.add_argument("--since", type=parse_since, help="only articles published since: a date or a span")
    backfill.add_argument("--alert", action="store_true",
                          help="alert them through the outbox and send now (default: store silently)")
    backfill.set_defaults(func=rule_commands.cmd_backfill)

    archive = sub.add_parser("import", parents=[common], help="load archives of articles (JSON Lines) as history")
    archive.add_argument("files", nargs="+", metavar="FILE", help=".jsonl file (or .jsonl.gz): one article per line")
    archive.add_argument("--alert", action="store_true",
                         help="alert the hits found through the outbox (default: store them silently)")
    archive.add_argument("--json", action="store_true", help="print the summary as a JSON object")
    archive.add_argument("--workers", type=positive_int, default=None,
                         help="processes that read and match lines (default: one per core; 1: none besides this one)")
    archive.set_defaults(func=import_command.cmd_import)

    feedback_commands.add_label_parser(sub)

    extract = sub.add_parser("extract", parents=[common], help="the cleaned article of a file or URL")
    extract.add_argument("input", metavar="FILE_OR_URL", help=".html, .htm, .html.gz or .txt file, or http(s) URL")
    extract.add_argument("--json", action="store_true", help="print a JSON object")
    extract.set_defaults(func=commands.cmd_extract)

    rules = sub.add_parser("rules", help="work with watch rules")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    test = rules_sub.add_parser("test", parents=[common], help="match inputs against the rules, store nothing")
    test.add_argument("inputs", nargs="+", metavar="INPUT", help=".html/.htm/.html.gz file, .txt file or URL")
    test.add_argument("--json", action="store_true", help="print a JSON list")
    test.set_defaults(func=commands.cmd_rules_test)
    preview = rules_sub.add_parser("preview", parents=[common],
                                   help="the current rules over stored articles against the stored hits")
    preview.add_argument("--rule", metavar="NAME", help="only this rule (or deleted rule)")
    preview.add_argument("--since", type=parse_since, help="only articles published since: a date or a span")
    preview.add_argument("--json", action="store_true", help="print a JSON object")
    preview.set_defaults(func=rule_commands.cmd_rules_preview)
    spikes = rules_sub.add_parser("spikes", parents=[common],
                                  help="the volume spikes the current settings would have raised over stored history")
    spikes.add_argument("--rule", metavar="NAME", help="only this rule (default: every rule)")
    spikes.add_argument("--since", type=parse_since, help="from: a date or a span back from now (default: 30d)")
    spikes.add_argument("--json", action="store_true", help='print [{"rule", "start", "end", "stories", "expected"}]')
    spikes.set_defaults(func=spike_commands.cmd_rules_spikes)
    explain = rules_sub.add_parser("explain", parents=[common],
                                   help="the names a pack reference (@country:KP) or alias stands for, per language")
    explain.add_argument("reference", metavar="REFERENCE", help="@pack:KEY, as in @country:KP, or @alias")
    explain.add_argument("--json", action="store_true", help="print a JSON object")
    explain.set_defaults(func=rule_commands.cmd_rules_explain)
    feedback_commands.add_rules_parsers(rules_sub, common, positive_int)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_sub.add_parser("upgrade", parents=[common], help="migrate the database to the current schema")
    upgrade.set_defaults(func=commands.cmd_db_upgrade)

    demo = sub.add_parser("demo", parents=[common], help="an offline demo on bundled feeds and pages")
    demo.set_defaults(func=lambda args: __import__("newswatch.demo", fromlist=["run_demo"]).run_demo(args))
    return parser


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newswatch")
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    # newswatch's own log lines go through Prefect's handlers: to the console once, and to the UI
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "newswatch")
    # a warning outside any flow run (e.g. an alert failing in `newswatch digest`) is printed once
    # in the terminal; Prefect's UserWarning that it has no run to go to is nothing to act on
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `newswatch hits | head`: the reader has what it wanted; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush cannot fail again
        return 0


if __name__ == "__main__":
    sys.exit(main())
