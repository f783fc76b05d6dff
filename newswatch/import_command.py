"""`newswatch import FILE...`: load archives of articles (JSON Lines) into the store as history.

The format and what counts as a bad line: `extractors.archive`; what is stored and when it
alerts: `flows.archive_import`. On a terminal a progress bar follows the bytes read; a
summary ends every import, naming each skipped line by file and number. Exit codes: 0 when
at least one line was a good article (stored now or already stored), 1 when nothing could
be imported, 2 when the configuration is invalid.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from newswatch.commands import EXIT_BAD_CONFIG, EXIT_FAILED, EXIT_OK, load_or_report, print_json

SHOWN_BAD_LINES = 50  # in the text summary; --json lists them all


def cmd_import(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from flows.archive_import import import_archives

    with progress_bar(total_bytes(args.files), enabled=not args.json and sys.stderr.isatty()) as advance:
        report = import_archives(config, args.files, alert=args.alert, progress=advance, workers=args.workers)
    if args.json:
        print_json(report.to_json(args.files))
    else:
        print_summary(report, alert=args.alert)
    good = report.stored + report.already_stored
    return EXIT_OK if good else EXIT_FAILED


def print_summary(report, *, alert: bool) -> None:
    for path, why in report.bad_files:
        print(f"newswatch: cannot read {path}: {why}", file=sys.stderr)
    for path, bad in report.bad_lines[:SHOWN_BAD_LINES]:
        print(f"{path}:{bad.line}: skipped: {bad.reason}", file=sys.stderr)
    if len(report.bad_lines) > SHOWN_BAD_LINES:
        print(f"... and {len(report.bad_lines) - SHOWN_BAD_LINES} more skipped line(s) (--json lists all)",
              file=sys.stderr)
    how = f"{report.alerting} queued for alerting" if alert else "marked imported, none alerted"
    print(f"import: {report.lines} line(s) read: {report.stored} article(s) stored, "
          f"{report.already_stored} already stored, {len(report.bad_lines)} skipped; "
          f"{report.hits} hit(s) ({how})")
    if report.relay is not None:
        relay = report.relay
        print(f"alerts: {relay.sent} sent, {relay.summarized} in summaries, {relay.failed} failed "
              f"(failed ones stay pending for the next pass)")
    if not report.stored + report.already_stored:
        print("newswatch: nothing could be imported (see the lines above)", file=sys.stderr)


def total_bytes(paths) -> int:
    return sum(os.path.getsize(path) for path in paths if os.path.isfile(path))


@contextmanager
def progress_bar(total: int, *, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr (rich, as Prefect installs it) following the bytes read."""
    if not enabled or not total:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress("importing", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("import", total=total)
        pending = 0

        def advance(size: int) -> None:
            nonlocal pending  # the bar redraws a few times a second; updating per line costs more than a line
            pending += size
            if pending >= 1 << 20:
                bar.advance(task, pending)
                pending = 0

        yield advance
