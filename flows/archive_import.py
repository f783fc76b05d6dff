"""`newswatch import`: load an archive of articles into the store as history.

Plain functions, no Prefect. Each good line of a JSON Lines file (`extractors.archive`)
is matched like a polled article (its language decided from its text, the line's
`language` a hint; the same rules; the tags of the feed it names when that is a feed of
feeds.yaml) and stored through the pass's own `save_article_groups`, so the
same identity rules decide what is new: an article already stored, polled or imported
before, is skipped, and importing a file twice adds nothing. Hits are marked `imported`
and dated by the article's published time. They alert only with `alert`, and then as a
pass's hits do: through the outbox and the relay, one story alerting once per rule.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alerts import RelayReport, send_pending
from config.models import Config
from extractors.archive import BadLine
from flows.archive_prepare import Matcher, PreparedArticle, chunk_lines, prepare_chunks
from matching import compile_rules
from store import ArticleToSave, archive_feed_ids, database, save_article_groups
from store.similarity import StorySketch

BATCH = 1000  # articles per transaction: the store's batch statements amortise over it


@dataclass
class ImportReport:
    """What an import did, for the summary and `--json`."""

    lines: int = 0  # non-blank lines read
    stored: int = 0  # articles new to the store
    already_stored: int = 0  # articles the store had (same URL), skipped
    hits: int = 0
    alerting: int = 0  # hits queued for alerting (with --alert)
    bad_lines: list[tuple[str, BadLine]] = field(default_factory=list)  # (path, the line skipped)
    bad_files: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of files that could not be read
    relay: RelayReport | None = None

    def to_json(self, paths: Iterable[str]) -> dict:
        return {
            "files": list(paths), "lines": self.lines, "stored": self.stored,
            "already_stored": self.already_stored, "hits": self.hits, "alerting": self.alerting,
            "bad_lines": [{"file": file, "line": bad.line, "reason": bad.reason} for file, bad in self.bad_lines],
            "bad_files": [{"file": path, "reason": why} for path, why in self.bad_files],
        }


def import_archives(config: Config, paths: Iterable[str | Path], *, alert: bool = False,
                    progress: Callable[[int], None] | None = None, workers: int | None = None) -> ImportReport:
    """Import every file in turn; `progress` is told how many bytes of input were read.
    Lines are read, matched and sketched by `workers` processes (default: one per core;
    1 keeps it all in this process) while this one stores."""
    report = ImportReport()
    workers = workers or os.cpu_count() or 1
    tags = {feed.name: tuple(feed.tags) for feed in config.feeds}
    matcher = Matcher(compile_rules(config.rules, config.aliases) if workers <= 1 else None, tags)
    with database(config.settings.database_url) as engine:
        for path in map(Path, paths):
            try:
                import_file(engine, config, matcher, path, report, alert=alert, progress=progress, workers=workers)
            except OSError as exc:
                report.bad_files.append((str(path), describe_os_error(exc)))
        if alert:
            report.relay = send_pending(engine, config.channels, config.settings.alerts, rules=config.rules)
    return report


def describe_os_error(exc: OSError) -> str:
    """Why a file could not be read, in the words a user would use ("no such file")."""
    plain = {FileNotFoundError: "no such file", IsADirectoryError: "it is a directory, not a file",
             PermissionError: "permission denied"}
    return plain.get(type(exc)) or (exc.strerror or str(exc)).lower()


def import_file(engine, config: Config, matcher: Matcher, path: Path, report: ImportReport, *, alert: bool,
                progress: Callable[[int], None] | None, workers: int) -> None:
    batch: list[PreparedArticle] = []
    feed_ids: dict[str, int] = {}  # the outlets' feed rows, looked up once per import
    chunks = chunk_lines(read_lines(path, progress))
    for prepared in prepare_chunks(chunks, matcher, workers, (config.rules, config.aliases)):
        for item in prepared:
            report.lines += 1
            if isinstance(item, BadLine):
                report.bad_lines.append((str(path), item))
                continue
            batch.append(item)
            if len(batch) >= BATCH:
                save_batch(engine, config, batch, report, alert=alert, feed_ids=feed_ids)
                batch = []
    if batch:
        save_batch(engine, config, batch, report, alert=alert, feed_ids=feed_ids)


def read_lines(path: Path, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    """The file's lines as bytes (a .gz file decompressed), telling `progress` what was read."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        for line in file:
            if progress:
                progress(len(line))
            yield line


def save_batch(engine, config: Config, batch: list[PreparedArticle], report: ImportReport, *, alert: bool,
               feed_ids: dict[str, int]) -> None:
    """Store a batch of matched articles, grouped by outlet, in one transaction; `feed_ids`
    caches the outlets' rows, new outlets added."""
    new_outlets = {item.feed for item in batch} - feed_ids.keys()
    if new_outlets:
        feed_ids.update(archive_feed_ids(engine, new_outlets))
    groups: dict[int, list[ArticleToSave]] = {}
    for item in batch:
        groups.setdefault(feed_ids[item.feed], []).append(
            ArticleToSave(item.entry, item.article, item.matches, imported=True, alert=alert,
                          sketch=StorySketch(item.sketch)))
    by_rule = {rule.name: rule for rule in config.rules}
    results = save_article_groups(engine, list(groups.items()), config_hash=config.config_hash,
                                  channels_for_rule=lambda name: config.channels_for(by_rule[name]))
    for saved in results:
        report.stored += len(saved.article_ids)
        report.already_stored += saved.already_stored
        report.hits += len(saved.hit_ids) + len(saved.quiet_hit_ids) + len(saved.baseline_hit_ids)
        report.alerting += len(saved.hit_ids) - len(saved.copy_hit_ids)
