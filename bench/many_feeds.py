"""Many feeds: a quiet pass over 10,000 feeds on 200 hosts, and a pass where 2% have news.

Run: nice python bench/many_feeds.py [--feeds 10000] [--hosts 200] [--latency-ms 50]
        [--concurrency 64] [--change-every 50] [--per-bump 2] [--repeats 2]
        [--backends sqlite,postgresql] [--modes direct,cli] [--postgres-url URL]

Publishers: bench/many_feeds_site.py serves feed k at http://127.0.1.(k mod H + 1):PORT/g/<k>.xml
(the 200 addresses 127.0.1.1 .. 127.0.1.200 all route to the loopback interface on Linux), every
response after LATENCY_MS, 304 to a conditional GET with the feed's ETag. Every CHANGE_EVERY-th
feed (2% at 50) gets PER_BUMP new items each time the site's generation is bumped; their pages
are the 181 real news pages of ../shared/data/article-extraction-benchmark, as in
bench/pipeline.py.

Each pass runs in its own process (bench/pipeline_pass.py: `direct` calls run_pass(), `cli` is
`newswatch run --json` under a local Prefect server started here) on its own database: a SQLite
file, or a fresh database on the PostgreSQL server at --postgres-url (default
$NEWSWATCH_TEST_POSTGRES_URL; `source .ci/postgres.sh; start_test_postgres` starts one).
Per backend and mode, a 10-feed and a FEEDS-feed config are created (`newswatch db upgrade`) and
polled once (every feed answers 200 with an empty feed: the baseline). Then, per repeat:
  quiet: the 10-feed pass and the FEEDS-feed pass, every feed answering 304; marginal wall =
         FEEDS pass - 10-feed pass (the fixed cost of starting a pass is not a feed's), CPU per
         feed = delta CPU of the pass's process tree / (FEEDS - 10);
  news:  the site's generation is bumped, then the FEEDS-feed pass: 2% of the feeds answer 200
         with PER_BUMP new items (their pages fetched, extracted, matched, stored); reported with
         its new articles and hits, and per new article over the quiet pass just before it.
The fetch settings are the defaults except `fetch.concurrency` (--concurrency; the default 16
caps a 50 ms-latency pass at 16 feeds per 50 ms, 31 s for 10,000 feeds). The load average is
printed beside every pass: other work on the machine slows everything here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import (DATA, EXTRA_RULES, SERVER, create_database, free_port, load_average,  # noqa: E402
                            pass_env, prefect_server, run_pass, spread)


def hosts(count: int) -> list[str]:
    if not 1 <= count <= 254:
        raise SystemExit("bench: --hosts must be 1 .. 254 (127.0.1.1 .. 127.0.1.254)")
    return [f"127.0.1.{i}" for i in range(1, count + 1)]


@contextmanager
def publishers(args):
    port = free_port("127.0.1.1")
    command = [sys.executable, str(ROOT / "bench" / "many_feeds_site.py"), str(DATA), str(port),
               str(args.latency_ms), str(args.change_every), str(args.per_bump), *hosts(args.hosts)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise SystemExit(f"bench: the publisher site did not start: {process.stderr.read()[-1500:]}")
    try:
        yield port
    finally:
        process.kill()
        process.wait()


def bump(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.1.1:{port}/bump", timeout=10) as answer:
        return int(answer.read())


def feed_urls(port: int, count: int, host_count: int) -> list[str]:
    return [f"http://127.0.1.{k % host_count + 1}:{port}/g/{k}.xml" for k in range(count)]


def write_config(directory: Path, feeds: list[str], database_url: str, concurrency: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "settings.yaml").write_text(
        f"database_url: {database_url}\n"
        f"fetch:\n  allow_private_networks: true\n  concurrency: {concurrency}\n")
    (directory / "feeds.yaml").write_text("feeds:\n" + "".join(
        f"  - url: {url}\n    name: feed {i}\n" for i, url in enumerate(feeds)))
    (directory / "rules.yaml").write_text((ROOT / "config" / "rules.yaml").read_text().rstrip() + "\n" + EXTRA_RULES)
    (directory / "channels.yaml").write_text("channels: {}\n")
    return directory


class Databases:
    """A database per config: a SQLite file, or a fresh database on the PostgreSQL server."""

    def __init__(self, postgres_url: str | None) -> None:
        self.postgres_url, self.created = postgres_url, []

    def url(self, backend: str, directory: Path) -> str:
        if backend == "sqlite":
            return f"sqlite:///{directory / 'newswatch.db'}"
        if not self.postgres_url:
            raise SystemExit("bench: --backends postgresql needs --postgres-url or NEWSWATCH_TEST_POSTGRES_URL "
                             "(`source .ci/postgres.sh; start_test_postgres`)")
        name = f"nw_many_{uuid.uuid4().hex[:10]}"
        self.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.postgres_url.rsplit("/", 1)[0] + "/" + name

    def execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.postgres_url.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as conn:
            conn.execute(statement)

    def drop_all(self) -> None:
        for name in self.created:
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def describe(result: dict) -> str:
    s = result["summary"]
    return (f"wall {result['wall']:.2f} s, CPU {result['cpu']:.2f} s (pass process {result['cpu_main']:.2f} s), "
            f"{s['feeds_polled']} polled, {s['feeds_not_modified']} unchanged, {s['feeds_failed']} failed, "
            f"{s['new_articles']} new, {s['hits']} hits, load {load_average()}")


def check(result: dict, label: str) -> None:
    failed = result["summary"]["feeds_failed"]
    if failed:
        errors = {f["error_class"] for f in result["summary"]["feeds"] if f["status"] == "failed"}
        raise SystemExit(f"bench: {label}: {failed} feeds failed ({', '.join(sorted(map(str, errors)))})")


def measure(args, port: int, api_url: str | None, workdir: Path, databases: Databases) -> dict:
    combos = [(b, m) for b in args.backends.split(",") for m in args.modes.split(",")]
    envs = {m: pass_env(api_url if m == "cli" else None) for m in args.modes.split(",")}
    dirs: dict = {}
    for backend, mode in combos:
        for count in (10, args.feeds):
            directory = workdir / f"{backend}-{mode}-{count}"
            directory.mkdir(parents=True)
            write_config(directory, feed_urls(port, count, args.hosts), databases.url(backend, directory),
                         args.concurrency)
            create_database(directory, pass_env(None))
            first = run_pass(mode, directory, envs[mode])
            check(first, f"{backend} {mode} {count} first poll")
            print(f"  {backend:10} {mode:6} first poll, {count} feeds: {describe(first)}", flush=True)
            dirs[backend, mode, count] = directory
    results = {combo: {"small": [], "quiet": [], "news": []} for combo in combos}
    for rep in range(args.repeats):
        order = combos if rep % 2 == 0 else combos[::-1]
        for combo in order:
            backend, mode = combo
            for count, key in ((10, "small"), (args.feeds, "quiet")):
                result = run_pass(mode, dirs[backend, mode, count], envs[mode])
                check(result, f"{backend} {mode} {count}")
                if count == args.feeds and result["summary"]["feeds_not_modified"] != count:
                    raise SystemExit(f"bench: the quiet pass was not quiet: {describe(result)}")
                results[combo][key].append(result)
                print(f"  repeat {rep + 1} {backend:10} {mode:6} quiet {count:>6} feeds: {describe(result)}",
                      flush=True)
        generation = bump(port)
        for combo in order:
            backend, mode = combo
            result = run_pass(mode, dirs[backend, mode, args.feeds], envs[mode])
            check(result, f"{backend} {mode} news")
            results[combo]["news"].append(result)
            print(f"  repeat {rep + 1} {backend:10} {mode:6} news (gen {generation}) {args.feeds} feeds: "
                  f"{describe(result)}", flush=True)
    return results


def report(args, results: dict) -> None:
    many = args.feeds
    changed = sum(1 for k in range(many) if k % args.change_every == args.change_every // 2)
    print(f"\n{many} feeds on {args.hosts} hosts, {args.latency_ms:g} ms latency, fetch.concurrency "
          f"{args.concurrency}, per-host 2; {changed} feeds with {args.per_bump} new items each in the news pass")
    for (backend, mode), r in results.items():
        quiet, small, news = r["quiet"], r["small"], r["news"]
        marginal = [q["wall"] - s["wall"] for q, s in zip(quiet, small)]
        cpu = [(q["cpu"] - s["cpu"]) / (many - 10) * 1000 for q, s in zip(quiet, small)]
        server = [(q["server_cpu"] - s["server_cpu"]) / (many - 10) * 1000 for q, s in zip(quiet, small)]
        new = [n["summary"]["new_articles"] for n in news]
        extra_wall = [(n["wall"] - q["wall"]) / max(1, a) * 1000 for n, q, a in zip(news, quiet, new)]
        extra_cpu = [(n["cpu"] - q["cpu"]) / max(1, a) * 1000 for n, q, a in zip(news, quiet, new)]
        label = f"{backend} / {'newswatch run (Prefect)' if mode == 'cli' else 'run_pass (no Prefect)'}"
        print(f"{label}:")
        print(f"  quiet pass        wall {spread([q['wall'] for q in quiet])} s, marginal over 10 feeds "
              f"{spread(marginal)} s (goal < 30 s), CPU per feed {spread(cpu)} ms"
              + (f" (+ Prefect server {spread(server)} ms)" if mode == "cli" else ""))
        print(f"  2% news pass      wall {spread([n['wall'] for n in news])} s, CPU {spread([n['cpu'] for n in news])} s, "
              f"{spread(new, '{:.0f}')} new articles, {spread([n['summary']['hits'] for n in news], '{:.0f}')} hits; "
              f"over the quiet pass: {spread(extra_wall, '{:.1f}')} ms wall, {spread(extra_cpu, '{:.1f}')} ms CPU "
              "per new article")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=10000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every HTTP response")
    parser.add_argument("--concurrency", type=int, default=64, help="fetch.concurrency of the configs")
    parser.add_argument("--change-every", type=int, default=50, help="1 feed in N gets news (50: 2%%)")
    parser.add_argument("--per-bump", type=int, default=2, help="new items per changing feed and news pass")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--modes", default="direct,cli", help="direct: run_pass(); cli: newswatch run (Prefect)")
    parser.add_argument("--postgres-url", default=os.environ.get("NEWSWATCH_TEST_POSTGRES_URL"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not (DATA / "html").is_dir():
        raise SystemExit(f"bench: {DATA}/html not found; this benchmark needs the shared data folder beside "
                         "the repository")
    if "postgresql" not in args.backends.split(","):
        args.postgres_url = None
    print(f"machine: {os.cpu_count()} cores, load average {load_average()} (1/5/15 min)", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="newswatch-many-feeds-"))
    databases = Databases(args.postgres_url)
    try:
        with publishers(args) as port:
            if "cli" in args.modes.split(","):
                with prefect_server(workdir) as (api_url, server_pid):
                    SERVER["pid"] = server_pid
                    results = measure(args, port, api_url, workdir, databases)
                SERVER.clear()
            else:
                results = measure(args, port, None, workdir, databases)
        report(args, results)
        print(f"load average at the end: {load_average()}")
    finally:
        databases.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
