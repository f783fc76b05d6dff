"""Article extraction: the seed portal pages, charsets, fallbacks and the process pool."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest

from extractors.articles import extract_article, fallback_article
from extractors.charset import decode_html, find_charset
from extractors.cleaning import clean_article_text
from extractors.models import FeedEntry
from extractors.pool import ExtractionPool
import extractors.pool
from extractors import workers
from extractors.workers import Worker, WorkerPool

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO / "newswatch" / "demo" / "pages"
SEED_TEXT = REPO / "tests" / "golden" / "seed_portal.txt"  # the body of ../shared/seed's article
URL = "https://v.daum.net/v/20240105080012345"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
RELATED = ["Stray Kids", "Yeonpyeong", "Guam", "Pyeongchang", "digital nomads", "Taipei", "Laotian"]


def seed_paragraphs() -> list[str]:
    return [l.strip() for l in SEED_TEXT.read_text(encoding="utf-8").splitlines() if l.strip()]


def normalise(text: str) -> str:
    return " ".join(text.replace("“", '"').replace("”", '"').replace("’", "'").split())


@pytest.mark.parametrize("page", ["seed_article.html", "seed_article_divs.html"])
def test_seed_page_extracts_the_article_once_and_nothing_else(page):
    article = extract_article((PAGES / page).read_bytes(), URL, {"content-type": "text/html; charset=utf-8"})
    text = normalise(article.text)
    for paragraph in seed_paragraphs():
        assert text.count(normalise(paragraph)) == 1, paragraph[:60]
    assert not HANGUL.search(article.text), [l for l in article.text.splitlines() if HANGUL.search(l)]
    assert "Copyright" not in article.text and "©" not in article.text
    for headline in RELATED:
        assert headline not in article.text
    assert article.title.startswith("South Korea calls Russia")
    assert article.date == "2024-01-05"
    assert article.canonical_url == URL
    assert article.flagged is None
    # the portal says lang="ko", the text is English: the text decides
    assert (article.language, article.language_source) == ("en", "text")


def test_seed_page_reads_in_order():
    article = extract_article((PAGES / "seed_article_divs.html").read_bytes(), URL)
    assert article.text.startswith("South Korea called on Russia")


def test_summary_box_repeat_keeps_the_body_copy():
    body = ["Officials said “" + "a" * 120 + "” on Monday.", "B" * 120 + " two’s.",
            "Intro line that is long enough " * 4, "Middle " * 20]
    summary = [body[0].replace("“", '"').replace("”", '"'), body[1].replace("’", "'") + "  "]
    text = "\n".join(summary + [body[2], body[0], body[1], body[3]])
    cleaned = clean_article_text(text).splitlines()
    assert cleaned[0].startswith("Intro line")
    assert len(cleaned) == 4


def test_clean_article_text_drops_edge_chrome_but_keeps_quoted_foreign_verse():
    body = "The minister said the talks would continue next week in Geneva. " * 3
    text = "\n".join(["로그인", body, "Он сказал: «Мы продолжим».", body + " More.", "무단전재 및 재배포 금지",
                      "- Headline one", "- Headline two here", "- Headline three there"])
    cleaned = clean_article_text(text)
    assert "로그인" not in cleaned and "무단전재" not in cleaned and "Headline" not in cleaned
    assert "Он сказал" in cleaned


def page(body_text: str, meta: str = "") -> str:
    paragraphs = "".join(f"<p>{body_text} {i}.</p>" for i in range(8))
    return f"<html><head>{meta}<title>Charset</title></head><body><article>{paragraphs}</article></body></html>"


FRENCH = "Le garçon a mangé une crème brûlée à côté du château, très élégant et déjà célèbre"
KOREAN = "북한이 러시아에 탄도미사일을 제공했다고 백악관이 밝혔다 한국 정부는 즉각 중단을 촉구했다"


@pytest.mark.parametrize(
    "body, headers, expected",
    [
        (page(FRENCH).encode("iso-8859-1"), {"content-type": "text/html; charset=ISO-8859-1"}, FRENCH),
        (page(KOREAN, '<meta charset="euc-kr">').encode("euc-kr"), {"content-type": "text/html"}, KOREAN),
        (page(KOREAN, '<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">').encode("euc-kr"),
         {}, KOREAN),
        (b"\xef\xbb\xbf" + page(FRENCH).encode("utf-8"), {"content-type": "text/html; charset=iso-8859-1"}, FRENCH),
        (page(FRENCH).encode("utf-16"), {}, FRENCH),
        (page(FRENCH).encode("utf-8"), {"content-type": "text/html; charset=iso-8859-1"}, FRENCH),
        (page(FRENCH, '<meta charset="windows-1252">').encode("cp1252"), {"content-type": "text/html; charset=utf-8"},
         FRENCH),
        (page(KOREAN).encode("euc-kr"), {"content-type": "text/html"}, KOREAN),
    ],
    ids=["latin1-header", "euckr-meta", "euckr-http-equiv", "bom-beats-header", "utf16-bom",
         "utf8-with-wrong-latin1-header", "cp1252-with-wrong-utf8-header", "euckr-undeclared"],
)
def test_charset_is_decoded_right(body, headers, expected):
    assert expected in decode_html(body, headers)
    article = extract_article(body, "https://example.com/a", headers)
    assert expected in article.text
    assert "\ufffd" not in article.text


def test_find_charset_follows_whatwg_names():
    assert find_charset(b"caf\xe9", {"Content-Type": "text/html; charset=latin1"}) == "cp1252"


def test_language_comes_from_the_text_with_the_page_as_a_hint():
    html = page("This is plainly an English sentence about the weather", "").replace("<html>", '<html lang="en-GB">')
    article = extract_article(html.encode(), "https://example.com/a")
    assert (article.language, article.language_source) == ("en", "text+metadata")
    article = extract_article(page("Just English words here again and again").encode(), "https://e.com/")
    assert (article.language, article.language_source) == ("en", "text")


@pytest.mark.parametrize("html", [b"", b"   ", b"<html></html>", b"\x00\x01\x02", b"<html><body><nav>x</nav></body></html>"])
def test_pages_without_an_article_are_flagged_not_raised(html):
    article = extract_article(html, "https://example.com/a")
    assert article.text == ""
    assert article.flagged == "extract_empty"


def test_fallback_article_is_the_entry_title_and_summary():
    entry = FeedEntry(entry_key="k", link="https://e.com/a", title="Title", summary="Summary text", author="X")
    article = fallback_article(entry, "http_404")
    assert (article.title, article.text, article.flagged, article.url) == ("Title", "Summary text", "http_404",
                                                                           "https://e.com/a")


def test_extraction_pool_extracts_kills_and_reports():
    good = (PAGES / "seed_article.html").read_bytes()
    tasks = [("good", good, URL, None), ("empty", b"<html></html>", URL, None), ("good2", good, URL, {})]
    with ExtractionPool(workers=2, budget_seconds=60) as pool:
        results = dict(pool.extract_many(iter(tasks)))
    assert results["good"].text.startswith("South Korea called")
    assert results["good2"].text == results["good"].text
    assert results["empty"] == "extract_empty"


def test_extraction_pool_kills_a_page_over_budget():
    # ~0.4 s of extraction on this machine: four times the budget
    huge = ("<html><body>" + "<div><p>word " * 40000 + "</p></div>" * 40000 + "</body></html>").encode()
    with ExtractionPool(workers=1, budget_seconds=0.1) as pool:
        results = dict(pool.extract_many([("huge", huge, URL, None)]))
    assert results["huge"] == "extract_timeout"


def test_pages_queued_behind_a_killed_page_are_still_extracted():
    """A worker holds the page it is on and the next one; when it is killed over budget,
    the next one goes to a fresh worker instead of being lost."""
    slow = ("<html><body>" + "<div><p>word " * 20000 + "</p></div>" * 20000 + "</body></html>").encode()
    good = (PAGES / "seed_article.html").read_bytes()
    tasks = [("slow", slow, URL, None), ("good", good, URL, None), ("good2", good, URL, None)]
    with ExtractionPool(workers=1, budget_seconds=0.05) as pool:
        results = dict(pool.extract_many(iter(tasks)))
    assert results["slow"] == "extract_timeout"
    assert results["good"].text.startswith("South Korea called")
    assert results["good2"].text == results["good"].text


def test_every_reply_waiting_in_a_workers_pipe_is_announced():
    """Two calls queued in one worker, both replies already in the pipe: after the first is
    read, `wait()` must still see the second (a buffered reader would swallow it, and the
    pool would then wait out the page's whole budget for a reply it already has)."""
    worker = Worker()
    try:
        assert worker.wait_started()
        worker.submit(len, ("first",))
        worker.submit(len, ("second!",))
        time.sleep(0.5)  # both replies are written meanwhile
        assert worker.ready(0) and worker.receive() == ("ok", 5)
        assert worker.ready(1.0), "the second reply is in the pipe but was not announced"
        assert worker.receive() == ("ok", 7)
    finally:
        worker.stop()


def test_a_busy_worker_is_still_recycled_after_its_last_page():
    """Pages are queued two deep, so a saturated worker is never idle; it must still be
    replaced after `max_tasks_per_worker` pages (the guard against slow leaks)."""
    tasks = [(n, b"<html><body><p>tiny</p></body></html>", URL, None) for n in range(10)]
    with ExtractionPool(workers=1, max_tasks_per_worker=3) as pool:
        results = dict(pool.extract_many(iter(tasks)))
        assert [worker.tasks_done <= 3 for worker in pool._idle] == [True]
    assert results == {n: "extract_empty" for n in range(10)}


def test_a_worker_that_dies_before_reading_its_page_is_reported_not_raised():
    """A worker that cannot start (its memory cap is below what its imports need) and a
    page bigger than its pipe: the send fails, and the page is `extract_crashed` like any
    other crash, the rest of the pages too; nothing is raised into the pass."""
    big = b"<html><body>" + b"<p>word word word</p>" * 120000 + b"</body></html>"
    tasks = [("big", big, URL, None), ("small", b"<html><body><p>tiny</p></body></html>", URL, None)]
    with ExtractionPool(workers=1, memory_limit_mb=30, budget_seconds=5) as pool:
        results = dict(pool.extract_many(iter(tasks)))
    assert results == {"big": "extract_crashed", "small": "extract_crashed"}


def warm_shared_pool(monkeypatch, size: int) -> tuple[WorkerPool, set[int]]:
    """A feed-parsing pool of `size` started, idle workers (and their pids)."""
    shared = WorkerPool(size=size)
    monkeypatch.setattr(workers, "_shared", shared)
    started = [Worker() for _ in range(size)]
    for worker in started:
        assert worker.wait_started()
        shared.give(worker)
    return shared, {worker.process.pid for worker in started}


def run_in_thread(shared: WorkerPool, func, args: tuple) -> tuple[threading.Thread, dict]:
    """`shared.run(func, args)` on a thread; `out` gets its value and how long it took."""
    out: dict = {}

    def call() -> None:
        started = time.monotonic()
        out["value"] = shared.run(func, args, 60, ("t", "c"))
        out["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=call, daemon=True)  # a hung call must not hang the test run
    thread.start()
    return thread, out


def busy_parse(shared: WorkerPool, seconds: float) -> threading.Thread:
    """A parse that keeps one of `shared`'s workers busy for `seconds`, once it has started."""
    parse, _ = run_in_thread(shared, time.sleep, (seconds,))
    while not shared.busy:
        time.sleep(0.002)
    return parse


def busy_shared_pool(monkeypatch, idle: int, busy_seconds: float) -> tuple[WorkerPool, set[int], threading.Thread]:
    """A feed-parsing pool of `idle` + 1 started workers, one of them busy for `busy_seconds`."""
    shared, warm = warm_shared_pool(monkeypatch, idle + 1)
    return shared, warm, busy_parse(shared, busy_seconds)


def pids_after(pool: ExtractionPool, tasks: list) -> tuple[dict, set[int]]:
    results = dict(pool.extract_many(iter(tasks)))
    return results, {worker.process.pid for worker in pool._idle}


def test_the_first_page_waits_for_the_parsing_worker_finishing_a_feed(monkeypatch):
    """A pass's first page comes while the last feeds are being parsed: waiting for that
    worker (a parse takes milliseconds) beats starting a process (0.2-0.3 s of start-up
    on the critical path, and one process too many for the cores)."""
    good = (PAGES / "seed_article.html").read_bytes()
    shared, warm, parse = busy_shared_pool(monkeypatch, idle=0, busy_seconds=0.3)
    try:
        with ExtractionPool(workers=1, share_workers=True) as pool:
            results, used = pids_after(pool, [("a", good, URL, None)])
        assert results["a"].text.startswith("South Korea called")
        assert used == warm, "a new worker process was started instead of waiting for the parse"
    finally:
        parse.join()
        shared.close()


def test_a_second_worker_is_not_started_while_a_parsing_worker_is_about_to_free(monkeypatch):
    good = (PAGES / "seed_article.html").read_bytes()
    monkeypatch.setattr(extractors.pool, "LEND_WAIT_SECONDS", 10.0)  # however slow this machine
    shared, warm, parse = busy_shared_pool(monkeypatch, idle=1, busy_seconds=1.0)
    try:
        with ExtractionPool(workers=2, share_workers=True) as pool:
            results, used = pids_after(pool, [(n, good, URL, None) for n in range(4)])
        assert all(results[n].text.startswith("South Korea called") for n in range(4))
        assert used <= warm, "the pool started a process of its own beside the busy parsing worker"
    finally:
        parse.join()
        shared.close()


def test_busy_parsing_workers_hold_back_a_second_extraction_worker_for_a_second_only(monkeypatch):
    """A big config's polls keep the parsing workers busy for minutes: past the grace the
    pool starts a worker of its own, so extraction still runs on every core."""
    long_report = ("<html><body><article>" + "".join(
        f"<p>Paragraph {i} of a long report, with words enough to be kept as text by the extractor.</p>"
        for i in range(400)) + "</article></body></html>").encode()  # ~30 ms of extraction
    monkeypatch.setattr(extractors.pool, "LEND_WAIT_SECONDS", 0.2)  # 40 pages: over 1 s on one worker
    shared, warm, parse = busy_shared_pool(monkeypatch, idle=1, busy_seconds=4.0)
    try:
        with ExtractionPool(workers=2, share_workers=True) as pool:
            results, used = pids_after(pool, [(n, long_report, URL, None) for n in range(40)])
        assert all(results[n].text.startswith("Paragraph 0 of a long report") for n in range(40))
        assert len(used - warm) == 1, "no second worker was started while the parsing workers stayed busy"
    finally:
        parse.join()
        shared.close()


def idle_pids(shared: WorkerPool) -> set[int]:
    return {worker.process.pid for worker in list(shared._idle.queue)}


def two_parsing_workers_started(shared: WorkerPool) -> set[int]:
    """Two parses side by side, so `shared` ends with two idle workers; their pids."""
    first = busy_parse(shared, 0.5)
    second, _ = run_in_thread(shared, time.sleep, (0.5,))  # overlaps the first however slow the start
    first.join(), second.join()
    assert len(idle_pids(shared)) == 2
    return idle_pids(shared)


def gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True  # exited; its parent has not reaped it yet
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.05)
    return False


def test_parsing_workers_made_spare_by_the_pools_own_are_stopped_once_the_feeds_are_parsed(monkeypatch):
    """A big pass: extraction started workers of its own while the parsing ones were busy, and
    those then sat idle beside them to the end of the pass (40 MB each). Once the feeds are
    parsed they are stopped; the pool's own go back to the shared pool on close, warm for the
    next pass."""
    good = (PAGES / "seed_article.html").read_bytes()
    shared = WorkerPool(size=2)
    monkeypatch.setattr(workers, "_shared", shared)  # nothing to borrow: the pool starts its own
    try:
        with ExtractionPool(workers=2, share_workers=True) as pool:
            results, own = pids_after(pool, [(n, good, URL, None) for n in range(4)])
            assert len(own) == 2 and all(r.text.startswith("South Korea called") for r in results.values())
            parsers = two_parsing_workers_started(shared)
            pool.release_spare_workers()
            assert idle_pids(shared) == set()
            assert all(gone(pid) for pid in parsers), "a spare parsing worker is still running"
        assert idle_pids(shared) == own
    finally:
        shared.close()


def test_parsing_workers_are_kept_when_extraction_runs_on_borrowed_ones(monkeypatch):
    good = (PAGES / "seed_article.html").read_bytes()
    shared, warm = warm_shared_pool(monkeypatch, size=2)
    try:
        with ExtractionPool(workers=1, share_workers=True) as pool:
            _, used = pids_after(pool, [("a", good, URL, None)])
            pool.release_spare_workers()
            assert idle_pids(shared) == warm - used  # the idle parsing worker stays warm
    finally:
        shared.close()


def test_a_feed_parse_waits_for_the_busy_parser_while_extraction_holds_the_other_worker(monkeypatch):
    """The extraction pool borrowed one of two warm workers while the last feeds are being
    parsed: the next parse waits for the parsing worker (milliseconds) instead of starting
    a third process, whose start-up costs more CPU than the parse, on a busy pass."""
    shared, warm = warm_shared_pool(monkeypatch, size=2)
    try:
        lent = shared.lend()
        assert lent is not None
        parse = busy_parse(shared, 0.5)
        pid = shared.run(os.getpid, (), 60, ("t", "c"))
        parse.join()
        assert pid in warm - {lent.process.pid}, "a new process was started for the second parse"
        shared.give(lent)
    finally:
        shared.close()


def test_a_feed_parse_never_waits_on_a_borrower_holding_every_worker(monkeypatch):
    """With every worker lent out, a parse starts a process of its own at once: the
    borrower may be waiting for pages of the very feed being parsed."""
    shared, warm = warm_shared_pool(monkeypatch, size=2)
    try:
        lent = [shared.lend(), shared.lend()]
        assert all(lent) and shared.lend() is None
        parse, out = run_in_thread(shared, os.getpid, ())
        parse.join(timeout=60)
        assert not parse.is_alive(), "the parse waited for a lent worker to come back"
        assert out["value"] not in warm
        for worker in lent:
            shared.give(worker)
    finally:
        shared.close()


def test_a_lent_worker_its_borrower_killed_holds_back_no_parse(monkeypatch):
    """A borrower kills a worker over its page's budget and never gives it back; the
    parses may then run side by side again."""
    shared, _ = warm_shared_pool(monkeypatch, size=2)
    try:
        shared.lend().kill()
        slow = busy_parse(shared, 4.0)
        quick, out = run_in_thread(shared, time.sleep, (0,))
        quick.join(timeout=60)
        assert out["seconds"] < 3.0, "the second parse waited for the first, as if the dead worker were still lent"
        slow.join()
    finally:
        shared.close()


def test_a_waiting_parse_comes_before_a_borrower(monkeypatch):
    """Parses feed the pass its entries: while one waits for room, an idle worker is not
    lent (the borrower asks again with its next page)."""
    shared, _ = warm_shared_pool(monkeypatch, size=2)
    try:
        lent = shared.lend()
        parse = busy_parse(shared, 0.5)
        waiting, out = run_in_thread(shared, os.getpid, ())
        while not shared._queued:
            time.sleep(0.002)
        assert shared.lend() is None
        waiting.join(timeout=60)
        parse.join()
        assert "value" in out
        shared.give(lent)
    finally:
        shared.close()
