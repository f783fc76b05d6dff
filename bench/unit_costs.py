"""Per-unit CPU costs of a pass, one core, for sizing a deployment (docs/scaling.md).

Run: nice python bench/unit_costs.py [--pages 181] [--postgres-url URL]

Each unit is timed alone in this process with time.process_time() (CPU seconds, so other work
on a shared machine skews it little; a busy host still slows a core by 10-30%):
  poll    a conditional GET answered 304 (SafeClient.fetch, kept-alive connection to a local
          publisher, bench/pipeline_site.py, no added latency): the client's CPU per feed
  parse   parse_feed on an RSS 2.0 feed of 100 items: per feed and per entry
  fetch   SafeClient.fetch of a gzip-encoded news page (one of the 181 benchmark pages)
  extract extract_article on the 181 real pages of ../shared/data/article-extraction-benchmark
  match   RuleSet.match with the shipped rules plus bench/pipeline.py's two broad ones, per article
  store   save_article_groups, 50 articles per transaction (as the pass's writer does), per
          article, on SQLite and (with --postgres-url or $NEWSWATCH_TEST_POSTGRES_URL) PostgreSQL
The server's own CPU (the publisher, PostgreSQL) is not counted; bench/many_feeds.py measures
whole passes, server included where it is Python.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import DATA, EXTRA_RULES, load_average, publisher_site  # noqa: E402
from bench.pipeline_site import rss  # noqa: E402


def cpu_per(fn, count: int) -> float:
    """Milliseconds of CPU per call of fn(i), i in range(count)."""
    start = time.process_time()
    for i in range(count):
        fn(i)
    return (time.process_time() - start) / count * 1000


def client():
    from config.models import FetchSettings
    from extractors.http import SafeClient

    return SafeClient(FetchSettings(allow_private_networks=True, concurrency=1))


def measure_http(port: int, pages: int) -> dict:
    with client() as http:
        first = http.fetch(f"http://127.0.0.2:{port}/q/1.xml")
        etag = first.headers.get("etag")
        http.fetch(f"http://127.0.0.2:{port}/q/1.xml", etag=etag)  # connection warm
        poll = cpu_per(lambda i: http.fetch(f"http://127.0.0.2:{port}/q/1.xml", etag=etag), 2000)
        fetch = cpu_per(lambda i: http.fetch(f"http://127.0.0.2:{port}/p/u/{i}.html", kind="page"), pages)
    return {"poll": poll, "fetch": fetch}


def measure_parse() -> dict:
    from extractors.feeds import parse_feed

    body = rss("http://127.0.0.2", "u", 0, 100)
    per_feed = cpu_per(lambda i: parse_feed(body, {"content-type": "application/rss+xml"}, "http://127.0.0.2/f.xml"),
                       50)
    return {"parse_feed": per_feed, "parse_entry": per_feed / 100}


def extract_all(pages: list[bytes]) -> tuple[float, list]:
    from extractors.articles import extract_article

    start, articles = time.process_time(), []
    for n, page in enumerate(pages):
        articles.append(extract_article(page, f"http://127.0.0.2/p/u/{n}.html", {"content-type": "text/html"}))
    return (time.process_time() - start) / len(pages) * 1000, articles


def measure_match(articles: list) -> tuple[float, list]:
    from config import load_config
    from matching import compile_rules
    from matching.models import MatchInput

    with tempfile.TemporaryDirectory() as directory:
        for name in ("settings.yaml", "feeds.yaml", "channels.yaml"):
            Path(directory, name).write_text({"settings.yaml": "{}\n", "feeds.yaml": "feeds: []\n",
                                              "channels.yaml": "channels: {}\n"}[name])
        Path(directory, "rules.yaml").write_text((ROOT / "config" / "rules.yaml").read_text().rstrip() + "\n"
                                                 + EXTRA_RULES)
        config = load_config(directory)
    ruleset = compile_rules(config.rules, config.aliases)
    docs = [MatchInput(title=a.title, body=a.text, language=a.language, feed_tags=()) for a in articles]
    matches = [ruleset.match(doc) for doc in docs]
    return cpu_per(lambda i: ruleset.match(docs[i % len(docs)]), len(docs) * 3), matches


def measure_store(database_url: str, articles: list, matches: list, rounds: int = 4) -> float:
    from extractors.feeds import parse_feed
    from store import ArticleToSave, open_database, save_article_groups
    from store.feeds import archive_feed_ids

    engine = open_database(database_url)
    try:
        feed_id = archive_feed_ids(engine, ["bench"])["bench"]
        spent, saved = 0.0, 0
        for r in range(rounds):
            entries = parse_feed(rss("http://127.0.0.2", f"s{r}", 0, len(articles))).entries
            items = [ArticleToSave(entry, article, match) for entry, article, match in zip(entries, articles, matches)]
            start = time.process_time()
            for first in range(0, len(items), 50):
                save_article_groups(engine, [(feed_id, items[first:first + 50])], channels_for_rule=lambda rule: (),
                                    config_hash="bench")
            spent, saved = spent + time.process_time() - start, saved + len(items)
        return spent / saved * 1000
    finally:
        engine.dispose()


def fresh_postgres(url: str) -> tuple:
    from bench.many_feeds import Databases

    databases = Databases(url)
    return databases.url("postgresql", Path(tempfile.gettempdir()) / uuid.uuid4().hex), databases


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=181)
    parser.add_argument("--postgres-url", default=os.environ.get("NEWSWATCH_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    pages = [gzip.decompress(p.read_bytes()) for p in sorted((DATA / "html").glob("*.html.gz"))][:args.pages]
    print(f"machine: {os.cpu_count()} cores, load average {load_average()}", flush=True)
    with publisher_site(0, port80=False) as port:
        http = measure_http(port, len(pages))
    parse = measure_parse()
    extract, articles = extract_all(pages)
    match, matches = measure_match(articles)
    with tempfile.TemporaryDirectory() as directory:
        store = {"sqlite": measure_store(f"sqlite:///{directory}/unit.db", articles, matches)}
    if args.postgres_url:
        url, databases = fresh_postgres(args.postgres_url)
        try:
            store["postgresql"] = measure_store(url, articles, matches)
        finally:
            databases.drop_all()
    hits = sum(len(m) for m in matches) / len(matches)
    print(f"poll (304, client CPU)      {http['poll']:.2f} ms per feed")
    print(f"parse (RSS, 100 items)      {parse['parse_feed']:.1f} ms per feed, {parse['parse_entry']:.3f} ms per entry")
    print(f"fetch (gzip page)           {http['fetch']:.2f} ms per page")
    print(f"extract ({len(pages)} real pages)   {extract:.1f} ms per page")
    print(f"match (shipped rules + 2)   {match:.2f} ms per article ({hits:.2f} hits per article)")
    print("store (50 per transaction)  " + ", ".join(f"{k} {v:.2f} ms" for k, v in store.items()) + " per article")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
