"""feedparser's own 2,100-file corpus, served over HTTP, goes through fetch -> parse cleanly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from config.models import FetchSettings
from extractors.http import SafeClient
from extractors.models import FeedEntry
from tests.servers import corpus_files, fetch_corpus, serve_feed_corpus

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "data" / "feedparser-tests"
TEXT_FIELDS = ("entry_key", "link", "title", "summary", "guid", "author")


@pytest.fixture(scope="module")
def corpus_root() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"feedparser corpus not found: {CORPUS} (../shared/data/feedparser-tests beside the repo)")
    return CORPUS


def assert_clean_text(value: object, where: str) -> None:
    if value is None:
        return
    assert isinstance(value, str), where
    assert "\x00" not in value, where
    value.encode("utf-8")  # raises on lone surrogates


def assert_clean_entry(entry: FeedEntry, where: str) -> None:
    for name in TEXT_FIELDS:
        assert_clean_text(getattr(entry, name), f"{where}: {name}")
    assert entry.entry_key
    assert len(entry.title) <= 1000 and len(entry.summary) <= 20000
    assert entry.link is None or len(entry.link) <= 2000


def test_every_corpus_file_fetches_and_parses_without_exception(corpus_root, httpserver):
    serve_feed_corpus(httpserver, corpus_root)
    files = corpus_files(corpus_root)
    assert len(files) > 2000
    started = time.perf_counter()
    settings = FetchSettings(allowed_networks=("127.0.0.0/8",), timeout_seconds=10)
    with SafeClient(settings) as client:
        results = fetch_corpus(client, httpserver.url_for("/"), corpus_root, files)
    elapsed = time.perf_counter() - started

    fetch_errors = [(p.name, r.error_class, r.error) for p, r, _ in results if not r.ok]
    parse_errors = [(p.name, f.error) for p, _, f in results if f and f.error_class == "parse_error"]
    assert fetch_errors == []
    assert parse_errors == []
    entries = 0
    for path, _fetched, parsed in results:
        assert_clean_text(parsed.title, path.name)
        for entry in parsed.entries:
            assert_clean_entry(entry, path.name)
            entries += 1
    assert entries > 1000
    print(f"\nfeedparser corpus: {len(files)} files, {entries} entries, {elapsed:.1f} s")
    assert elapsed < 60
