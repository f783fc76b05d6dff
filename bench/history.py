"""A year of history on one machine: import N articles, then time the commands that read history.

Generates N articles (JSON Lines) from the real texts in ../shared/data (the article
extraction benchmark and Reuters-21578), each with its own URL on one of 200 outlets and a
publication time spread over the last year, writes 100 rules built from the texts' own
vocabulary, then, through the CLI (so it measures what a user runs):

  1. `newswatch import` of the archive into a new database: articles per second, and the
     database's growth against the UTF-8 bytes of the text it took in (title + text);
  2. `newswatch rules preview` (the 100 rules over every stored article);
  3. `newswatch backfill --since 30d`;
  4. `newswatch hits --rule R --since 7d` (R: the rule with the most hits).

    python bench/history.py [--articles 1000000] [--backend sqlite|postgres|both] [--markdown]

PostgreSQL: a server you own, from --postgres-url or $NEWSWATCH_TEST_POSTGRES_URL (`source
.ci/postgres.sh; start_test_postgres` starts a throwaway one); a database is created for the
run and dropped after it. The table at the end is what docs/scaling.md reports.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.import_speed import source_texts  # noqa: E402

CPU_SECONDS: dict[str, float] = {}  # command -> CPU seconds of its last run, its workers' included
RULES = 100
OUTLETS = 200
STOPWORDS = set("""about after again against also among around because before being between could during
every first former further group however including itself last later little major might month months
other others people percent report reported since something state still their there these those though
three through today under until where whether which while would years added company billion
million share shares said saying says year""".split())


@dataclass
class Run:
    """One backend's figures."""

    backend: str
    articles: int = 0
    hits: int = 0
    import_seconds: float = 0.0
    import_cpu_seconds: float = 0.0  # the import's processes together
    text_bytes: int = 0
    database_bytes: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.articles / self.import_seconds if self.import_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.database_bytes / self.text_bytes if self.text_bytes else 0.0


def write_archive(path: Path, count: int, texts: list[tuple[str, str]]) -> int:
    """`count` lines cycling through the texts, each with its own URL, outlet and date over
    the last year; the UTF-8 bytes of title and text written."""
    rng = random.Random(25)
    now = datetime.now(timezone.utc)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            title, text = texts[number % len(texts)]
            outlet = number % OUTLETS
            published = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
            out.write(json.dumps({"url": f"https://news{outlet}.example/{published:%Y/%m/%d}/story-{number}",
                                  "title": title, "text": text, "published": published.isoformat(),
                                  "feed": f"Outlet {outlet}"}) + "\n")
            written += len(title.encode()) + len(text.encode())
    return written


def write_rules(path: Path, texts: list[tuple[str, str]]) -> list[str]:
    """100 rules from the texts' vocabulary: AND, OR, NEAR and prefix queries; their names. The
    words are of middling frequency (ranks 300 to 1,100), so the rules hit a few percent of the
    articles, as a desk's watch rules do, not half of them."""
    words = Counter(word for _, text in texts[:3000] for word in re.findall(r"[a-z]{5,}", text.lower())
                    if word not in STOPWORDS)
    common = [word for word, _ in words.most_common(1100)[300:]]
    shapes = ["{a} AND {b}", "{a} NEAR/10 {b}", "{a}* AND ({b} OR {c})", "\"{a} {b}\" OR {c}"]
    rules = [{"name": f"rule-{n:03d}", "query": shapes[n % len(shapes)].format(
        a=common[n], b=common[(n * 7 + 3) % len(common)], c=common[(n * 13 + 5) % len(common)])}
        for n in range(RULES)]
    path.write_text(yaml.safe_dump({"rules": rules}, sort_keys=False))
    return [rule["name"] for rule in rules]


def write_config(directory: Path, database_url: str, texts: list[tuple[str, str]]) -> Path:
    directory.mkdir(parents=True)
    (directory / "settings.yaml").write_text(yaml.safe_dump({"database_url": database_url}))
    (directory / "feeds.yaml").write_text("feeds: []\n")
    (directory / "channels.yaml").write_text("channels: {}\n")
    write_rules(directory / "rules.yaml", texts)
    return directory


def newswatch(config: Path, *args: str) -> tuple[float, str]:
    """Run one CLI command; its wall time (start-up included) and its output. The CPU time
    it and its worker processes used is added to CPU_SECONDS[args[0]]."""
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "newswatch", *args, "--config", str(config)],
                          capture_output=True, text=True, cwd=REPO)
    elapsed, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS[args[0]] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if done.returncode:
        sys.exit(f"newswatch {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, done.stdout


def database_bytes(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(file.stat().st_size for file in path.parent.glob(path.name + "*"))
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        return connection.execute("SELECT pg_database_size(current_database())").fetchone()[0]


@contextmanager
def postgres_database(base_url: str):
    """A new database on the server you own, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(base_url)
    name = f"newswatch_history_{uuid.uuid4().hex[:8]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_backend(backend: str, url: str, work: Path, archive: Path, text_bytes: int,
                texts: list[tuple[str, str]]) -> Run:
    run = Run(backend, text_bytes=text_bytes)
    config = write_config(work / f"config-{backend}", url, texts)
    newswatch(config, "db", "upgrade")
    empty = database_bytes(url)  # the schema alone: PostgreSQL's catalog is ~8 MB
    run.import_seconds, out = newswatch(config, "import", "--json", str(archive))
    summary = json.loads(out)
    run.articles, run.hits = summary["stored"], summary["hits"]
    run.import_cpu_seconds = CPU_SECONDS["import"]
    run.database_bytes = database_bytes(url) - empty
    run.timings["rules preview"], _ = newswatch(config, "rules", "preview", "--json")
    run.timings["backfill --since 30d"], _ = newswatch(config, "backfill", "--since", "30d")
    busiest = busiest_rule(config)
    run.timings[f"hits --rule {busiest} --since 7d"], _ = newswatch(config, "hits", "--rule", busiest,
                                                                   "--since", "7d", "--json")
    return run


def busiest_rule(config: Path) -> str:
    _, out = newswatch(config, "hits", "--json", "--limit", "2000")
    counts = Counter(hit["rule"] for hit in json.loads(out))
    return counts.most_common(1)[0][0] if counts else "rule-000"


def print_table(runs: list[Run], markdown: bool) -> None:
    rows = [("backend", *(run.backend for run in runs)),
            ("articles imported", *(f"{run.articles:,}" for run in runs)),
            ("hits stored", *(f"{run.hits:,}" for run in runs)),
            ("import wall time", *(f"{run.import_seconds:,.1f} s" for run in runs)),
            ("import rate", *(f"{run.rate:,.0f} articles/s" for run in runs)),
            ("import CPU per article", *(f"{1e3 * run.import_cpu_seconds / max(run.articles, 1):.2f} ms"
                                         for run in runs)),
            ("text imported", *(f"{run.text_bytes / 1e6:,.1f} MB" for run in runs)),
            ("database growth", *(f"{run.database_bytes / 1e6:,.1f} MB" for run in runs)),
            ("database / text", *(f"{run.ratio:.2f}x" for run in runs))]
    for name in runs[0].timings:
        label = "hits --rule R --since 7d" if name.startswith("hits") else name
        rows.append((label, *(f"{run.timings.get(name, 0):,.2f} s" for run in runs)))
        if name == "rules preview":
            rows.append(("  preview per article", *(f"{1e6 * run.timings[name] / max(run.articles, 1):,.0f} µs"
                                                     for run in runs)))
    if markdown:
        print("| " + " | ".join(rows[0]) + " |")
        print("|" + "---|" * len(rows[0]))
        for row in rows[1:]:
            print("| " + " | ".join(row) + " |")
        return
    width = max(len(row[0]) for row in rows) + 2
    for row in rows:
        print(row[0].ljust(width) + "".join(cell.rjust(24) for cell in row[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("NEWSWATCH_TEST_POSTGRES_URL"))
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and not args.postgres_url:
        sys.exit("PostgreSQL: pass --postgres-url or set NEWSWATCH_TEST_POSTGRES_URL (source .ci/postgres.sh; "
                 "start_test_postgres)")
    work = Path(tempfile.mkdtemp(prefix="nw-history-bench-"))
    try:
        texts = source_texts()
        archive = work / "archive.jsonl"
        text_bytes = write_archive(archive, args.articles, texts)
        runs = []
        for backend in backends:
            if backend == "sqlite":
                runs.append(run_backend(backend, f"sqlite:///{work / 'history.db'}", work, archive, text_bytes, texts))
            else:
                with postgres_database(args.postgres_url) as url:
                    runs.append(run_backend(backend, url, work, archive, text_bytes, texts))
        print(f"{args.articles:,} articles generated from {len(texts):,} texts; {os.cpu_count()} cores; "
              f"load average at the end {os.getloadavg()[0]:.1f}")
        print_table(runs, args.markdown)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
