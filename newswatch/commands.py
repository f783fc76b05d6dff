"""The CLI commands. Each takes the parsed arguments and returns an exit code.

Exit codes: 0 done; 1 the command ran and found problems (`check`) or failed;
2 the configuration is invalid (nothing was run or written).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from textwrap import indent
from pathlib import Path

from config import resolve_config_dir
from config.paths import find_left_behind_database
from newswatch.inputs import InputError, read_article
from newswatch.validation import check_everything, check_examples, load_valid_config

EXIT_OK, EXIT_FAILED, EXIT_BAD_CONFIG = 0, 1, 2


def print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def load_or_report(args: argparse.Namespace):
    """The valid config, or None after printing every problem to stderr (also when the
    database was left at its old place, relative to the current directory)."""
    config, problems = load_valid_config(resolve_config_dir(args.config))
    if problems:
        print(f"newswatch: invalid configuration in {resolve_config_dir(args.config)}:", file=sys.stderr)
        for problem in problems:
            print(problem, file=sys.stderr)
        return None
    left_behind = find_left_behind_database(config.settings.database_url, config.settings.old_database)
    if left_behind:
        print(f"newswatch: {left_behind}", file=sys.stderr)
        return None
    return config


def cmd_check(args: argparse.Namespace) -> int:
    """Every problem of the four files, the queries and the examples, most important first."""
    directory = resolve_config_dir(args.config)
    config, problems = check_everything(directory)
    if problems:
        print(f"newswatch: {len(problems)} problem(s) in {directory}, most important first:", file=sys.stderr)
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_FAILED
    examples = sum(len(r.examples.match) + len(r.examples.no_match) for r in config.rules)
    print(f"config OK: {config.directory}: {len(config.feeds)} feeds, {len(config.rules)} rules "
          f"({examples} examples pass), {len(config.channels)} channels")
    if not config.channels:
        print("note: no channels in channels.yaml: hits are stored and shown, but no alert is sent")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from flows.fallback import monitor_or_without_prefect
    from flows.prefect_client import PrefectApiError
    from flows.prefect_server import local_server_home, ui_url

    for problem in check_examples(config):
        print(f"warning: {problem}", file=sys.stderr)

    ui: list[str] = []

    def announce(api_url: str) -> None:
        ui.append(ui_url(api_url))
        if not args.json:
            print(f"newswatch: monitoring {len(config.feeds)} feeds with {len(config.rules)} rules "
                  f"(Prefect API {api_url})", file=sys.stderr)

    try:  # without a reachable Prefect API the pass runs without it (one line says so) and exits 0
        summary = monitor_or_without_prefect(config, local_server_home(config.settings.data_dir), on_api=announce,
                                             say=lambda line: print(line, file=sys.stderr))
    except PrefectApiError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # the pass stopped: say so plainly; Prefect's run log has the traceback
        print(f"newswatch: the pass failed: {type(exc).__name__}: {exc}\n"
              "Nothing was marked sent that was not; the next run picks up where this one stopped.",
              file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print_json(summary.to_json())
    else:
        print(summary.to_text())
        shown = f"Prefect UI: {ui[0]}" if ui else "Prefect UI: not reached; this pass is published there by the next run that reaches it"
        print(f"review past hits: {invoked_as()} hits   |   {shown}")
    return EXIT_OK


def invoked_as() -> str:
    """The command as the user runs it: `newswatch` when that name on PATH is this program,
    else the path they typed (`.venv/bin/newswatch`), or `python -m newswatch`."""
    typed = Path(sys.argv[0])
    if typed.name == "__main__.py":
        return "python -m newswatch"
    if typed.name != "newswatch":
        return "newswatch"
    found = shutil.which("newswatch")
    return "newswatch" if found and Path(found).resolve() == typed.resolve() else str(typed)


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from flows.prefect_client import PrefectApiError
    from flows.prefect_server import local_server_home, local_server_reviver, prefect_api, ui_url
    from flows.serve import serve_monitor
    from flows.standby import serve_with_standby

    try:
        home = local_server_home(config.settings.data_dir)
        revive = local_server_reviver(home)
        with prefect_api(home) as api_url:
            print(f"newswatch: serving the monitor on its schedule (Prefect API {api_url}, UI {ui_url(api_url)}); "
                  "runs never overlap; Ctrl-C stops", file=sys.stderr)
            # while the API is away, passes go on on schedule without Prefect (flows.standby)
            serve_with_standby(config, api_url, serve_monitor, revive=revive,
                               say=lambda line: print(line, file=sys.stderr, flush=True))
    except PrefectApiError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_digest(args: argparse.Namespace) -> int:
    """Send each digest channel's digest if its schedule has fired since its hits were found."""
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from flows.digest import UnknownDigestChannel, digest_channels, send_digest

    names = [args.channel] if args.channel else digest_channels(config)
    if not names:
        print("newswatch: no channel has mode: digest in channels.yaml", file=sys.stderr)
    failed = False
    for name in names:
        try:
            outcome = send_digest(config, name)
        except UnknownDigestChannel as exc:
            print(f"newswatch: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(f"digest {outcome.describe()}")
        failed = failed or (outcome.hits > 0 and not outcome.sent)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_hits(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from store import database, list_hits

    with database(config.settings.database_url) as engine:
        hits = list_hits(engine, rule=args.rule, since=args.since, until=args.until, feed=args.feed,
                         story=args.story, limit=args.limit)
    if args.json:
        print_json([hit.to_json() for hit in hits])
        return EXIT_OK
    if args.csv:
        from newswatch.export import write_hits_csv

        write_hits_csv([hit.to_json() for hit in hits], sys.stdout)
        return EXIT_OK
    if args.rule and not hits and args.rule not in {rule.name for rule in config.rules}:
        print(f"newswatch: no rule named {args.rule!r} in rules.yaml and no stored hit for it "
              f"(rules: {', '.join(rule.name for rule in config.rules)})", file=sys.stderr)
    for hit in hits:
        found = hit.found_at.strftime("%Y-%m-%d %H:%M")
        also = f"    also reported by: {', '.join(c.feed for c in hit.also_reported_by)}\n" if hit.also_reported_by else ""
        flags = "".join(f"  ({flag})" for flag, on in (("baseline", hit.baseline), ("backfilled", hit.backfilled),
                                                       ("imported", hit.imported)) if on)
        alert = f"    alert: {hit.alert.describe()}\n" if hit.alert else ""
        print(f"{found}  [{hit.rule}]  {hit.title}{flags}\n    {hit.url}  ({hit.feed}, {hit.language or 'language unknown'})\n"
              f"{also}{alert}"
              f"    terms: {', '.join(hit.terms)}\n{indent(hit.snippet, '    ')}\n")
    print(f"{len(hits)} hit(s)", file=sys.stderr)
    return EXIT_OK


def cmd_extract(args: argparse.Namespace) -> int:
    from config.models import FetchSettings

    try:
        article = read_article(args.input, _fetch_settings(args) or FetchSettings())
    except InputError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    data = {"title": article.title, "text": article.text, "date": article.date, "language": article.language,
            "url": article.url, "author": article.author, "canonical_url": article.canonical_url,
            "language_source": article.language_source}
    if args.json:
        print_json(data)
    else:
        head = [article.title, " ".join(filter(None, (article.date, article.language)))]
        print("\n".join(line for line in head if line) + "\n\n" + article.text if any(head) else article.text)
    return EXIT_OK


def _fetch_settings(args: argparse.Namespace):
    """The config's fetch limits when a config is there; defaults otherwise (extract works anywhere)."""
    from config import ConfigError, load_config

    try:
        return load_config(resolve_config_dir(args.config)).settings.fetch
    except ConfigError:
        return None


def cmd_rules_test(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from matching import compile_rules

    ruleset = compile_rules(config.rules, config.aliases)
    results, failed = [], False
    for spec in args.inputs:
        try:
            article = read_article(spec, config.settings.fetch)
        except InputError as exc:
            print(f"newswatch: {exc}", file=sys.stderr)
            failed = True
            continue
        results.append(rules_test_result(ruleset, spec, article))
    if args.json:
        print_json(results)
    else:
        for result in results:
            print_rules_test_result(result)
    return EXIT_FAILED if failed else EXIT_OK


def rules_test_result(ruleset, spec: str, article) -> dict:
    """One input's `rules test --json` object: its matches, and the rules that did not look at
    it (`tags`/`languages`) with the reason, so no rule is silent without saying why."""
    from matching.models import MatchInput

    doc = MatchInput(title=article.title, body=article.text, language=article.language)
    decided = f" (language decided by {article.language_source})" if article.language_source else ""
    return {
        "input": spec,
        "title": article.title,
        "matches": [{"rule": m.rule, "terms": list(m.terms), "fields": list(m.fields), "snippet": m.snippet}
                    for m in ruleset.match(doc)],
        "language": article.language,
        "language_source": article.language_source,
        "skipped": [{"rule": rule, "reason": reason + (decided if reason.startswith("languages") else "")}
                    for rule, reason in ruleset.skipped(doc)],
    }


def print_rules_test_result(result: dict) -> None:
    language = f", language {result['language'] or 'undecided'}" if result["language_source"] else ""
    print(f"{result['input']}: {len(result['matches'])} rule(s) match{language}")
    for match in result["matches"]:
        print(f"  [{match['rule']}] terms: {', '.join(match['terms'])}\n{indent(match['snippet'], '    ')}")
    for skipped in result["skipped"]:
        print(f"  [{skipped['rule']}] not tested: {skipped['reason']}")


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from store import database
    from store.migrate import current_revision

    with database(config.settings.database_url) as engine:
        print(f"database at schema revision {current_revision(engine)}")
    return EXIT_OK
