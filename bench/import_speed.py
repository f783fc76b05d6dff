"""How fast `newswatch import` loads an archive, and how large the database grows.

Generates N articles (JSON Lines) from the real texts in ../shared/data (the 181 benchmark
articles and Reuters-21578 stories), each with its own URL, outlet and date over the last
year, then times `newswatch import` through the CLI against a fresh database (SQLite, or a
new database on a PostgreSQL server you own) with the shipped rules, and prints articles per
second and the database's size (PostgreSQL: its growth over the empty schema) against the text
it holds.

    python bench/import_speed.py [--articles 20000] [--backend sqlite|postgres] [--postgres-url URL]

PostgreSQL: --postgres-url or $NEWSWATCH_TEST_POSTGRES_URL (`source .ci/postgres.sh;
start_test_postgres` starts a throwaway server); the database is created and dropped as
`bench/history.py` does.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # bench.history, when run as a script
DATA = REPO.parent / "shared" / "data"


def source_texts() -> list[tuple[str, str]]:
    """(title, text) of every real article available under ../shared/data."""
    texts = []
    truth = DATA / "article-extraction-benchmark" / "ground-truth.json"
    if truth.exists():
        for item in json.loads(truth.read_text()).values():
            body = item.get("articleBody") or ""
            texts.append((body.split("\n", 1)[0][:120], body))
    reuters = DATA / "reuters-21578" / "modapte.jsonl.gz"
    if reuters.exists():
        with gzip.open(reuters, "rt", encoding="utf-8") as lines:
            for line in lines:
                story = json.loads(line)
                texts.append((story.get("title") or "", story.get("body") or story.get("text") or ""))
    texts = [(title, text) for title, text in texts if text.strip()]
    if not texts:
        sys.exit(f"no texts found under {DATA}: clone the repo with ../shared beside it")
    return texts


def write_archive(path: Path, count: int, texts: list[tuple[str, str]]) -> int:
    """`count` lines cycling through the texts; the number of characters of text written."""
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            title, text = texts[number % len(texts)]
            published = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
            out.write(json.dumps({"url": f"https://outlet{number % 200}.example/{number}", "title": title,
                                  "text": text, "published": published.isoformat(),
                                  "feed": f"Outlet {number % 200}"}) + "\n")
            written += len(text) + len(title)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("NEWSWATCH_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if args.backend == "postgres" and not args.postgres_url:
        sys.exit("PostgreSQL: pass --postgres-url or set NEWSWATCH_TEST_POSTGRES_URL (source .ci/postgres.sh; "
                 "start_test_postgres)")
    work = Path(tempfile.mkdtemp(prefix="nw-import-bench-"))
    try:
        archive = work / "archive.jsonl"
        characters = write_archive(archive, args.articles, source_texts())
        if args.backend == "sqlite":
            measure(work, f"sqlite:///{work / 'bench.db'}", archive, characters)
        else:
            from bench.history import postgres_database

            with postgres_database(args.postgres_url) as url:
                measure(work, url, archive, characters)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(work: Path, url: str, archive: Path, characters: int) -> None:
    """Import the archive into the database at `url` through the CLI and print the figures."""
    from bench.history import database_bytes

    config = work / "config"
    shutil.copytree(REPO / "config", config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    settings = config / "settings.yaml"
    settings.write_text(settings.read_text() + f"\ndatabase_url: {url}\n")  # commented out there
    empty = 0
    if not url.startswith("sqlite"):
        subprocess.run([sys.executable, "-m", "newswatch", "db", "upgrade", "--config", str(config)], check=True,
                       capture_output=True, cwd=REPO)
        empty = database_bytes(url)  # the schema alone: PostgreSQL's catalog is ~8 MB
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "newswatch", "import", "--config", str(config), "--json",
                           str(archive)], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the import and its worker processes
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode:
        sys.exit(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    size = database_bytes(url) - empty
    print(f"articles imported      {summary['stored']:>10,}  ({summary['hits']:,} hits)")
    print(f"wall time (with start) {elapsed:>10.2f} s")
    print(f"articles per second    {summary['stored'] / elapsed:>10,.0f}   (goal >= 1,000; load average "
          f"{os.getloadavg()[0]:.1f} at the end)")
    cores = os.cpu_count() or 1
    print(f"CPU per article        {cpu / summary['stored'] * 1000:>10.2f} ms  (all processes; on {cores} idle "
          f"cores: {cores * summary['stored'] / cpu:,.0f} articles/s)")
    print(f"text held              {characters / 1e6:>10.1f} M characters")
    print(f"database size          {size / 1e6:>10.1f} MB  ({size / characters:.2f}x the text; goal <= 3x)")


if __name__ == "__main__":
    main()
