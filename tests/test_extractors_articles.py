"""Article extraction: the seed portal pages, charsets, fallbacks and the worker processes."""

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
from extractors.articles import extract_fetched
from extractors.errors import ExtractCrashed, ExtractTimeout, WorkFailed
from extractors.http import FetchResult
from extractors.workers import WorkerPool
from flows.streams import Lanes

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



EXTRACT = (ExtractTimeout, ExtractCrashed)


def extract_in_workers(pages: dict, size: int = 1, budget: float = 60, **pool_options) -> dict:
    """Each page (name -> html bytes, or None for an entry without a link) through the pass's
    extraction stream; name -> Article, or the error class of its failure."""
    with WorkerPool(size=size, **pool_options) as pool:
        lanes = Lanes(threads=1, per_host=1, workers=pool)
        items = [(name, (None if html is None else FetchResult(url=URL, final_url=URL, body=html),))
                 for name, html in pages.items()]
        return {name: outcome.error_class if isinstance(outcome, WorkFailed) else outcome
                for name, outcome in lanes.in_workers(extract_fetched, iter(items), budget, EXTRACT)}


def test_extraction_workers_extract_and_report():
    good = (PAGES / "seed_article.html").read_bytes()
    results = extract_in_workers({"good": good, "empty": b"<html></html>", "good2": good, "nolink": None}, size=2)
    assert results["good"].text.startswith("South Korea called")
    assert results["good2"].text == results["good"].text
    assert results["empty"] == "extract_empty" and results["nolink"] == "no_link"


def test_a_page_that_could_not_be_fetched_is_reported_with_the_fetchs_error_class():
    failed = FetchResult(url=URL, final_url=URL, status=403, error_class="http_403", error="403 Forbidden")
    with pytest.raises(WorkFailed) as failure:
        extract_fetched(failed)
    assert failure.value.error_class == "http_403" and str(failure.value) == "403 Forbidden"


def test_extraction_workers_kill_a_page_over_budget():
    # ~0.4 s of extraction on this machine: four times the budget
    huge = ("<html><body>" + "<div><p>word " * 40000 + "</p></div>" * 40000 + "</body></html>").encode()
    assert extract_in_workers({"huge": huge}, budget=0.1) == {"huge": "extract_timeout"}


def test_pages_queued_behind_a_killed_page_are_still_extracted():
    """Pages wait in line behind the one a worker is on; when it is killed over budget,
    the next ones go to a fresh worker instead of being lost."""
    slow = ("<html><body>" + "<div><p>word " * 20000 + "</p></div>" * 20000 + "</body></html>").encode()
    good = (PAGES / "seed_article.html").read_bytes()
    results = extract_in_workers({"slow": slow, "good": good, "good2": good}, budget=0.05)
    assert results["slow"] == "extract_timeout"
    assert results["good"].text.startswith("South Korea called")
    assert results["good2"].text == results["good"].text


def test_a_busy_worker_is_still_recycled_after_its_last_call():
    """Calls keep a saturated worker busy; it must still be replaced after `max_tasks` calls
    (the guard against slow leaks)."""
    with WorkerPool(size=1, max_tasks=3) as pool:
        futures = [pool.submit(os.getpid, (), 60, EXTRACT) for _ in range(10)]
        pids = [future.result() for future in futures]
    assert len(set(pids)) >= 4 and max(pids.count(pid) for pid in pids) <= 3


def test_workers_that_cannot_start_are_reported_not_raised():
    """A worker that cannot start (its memory cap is below what its imports need): every
    page is `extract_crashed` like any other crash; nothing is raised into the pass."""
    big = b"<html><body>" + b"<p>word word word</p>" * 120000 + b"</body></html>"
    results = extract_in_workers({"big": big, "small": b"<html><body><p>tiny</p></body></html>"},
                                 budget=5, memory_limit_mb=30)
    assert results == {"big": "extract_crashed", "small": "extract_crashed"}


def test_a_pass_parses_feeds_and_extracts_pages_in_one_set_of_worker_processes():
    """One pool per pass: feed parsing and extraction share its workers, never a second set."""
    from extractors.errors import ParseCrashed, ParseTimeout
    from extractors.feeds import parse_feed_with_budget

    feed = b"<rss version='2.0'><channel><title>t</title><item><title>a</title><link>https://e.com/a</link></item>" \
           b"</channel></rss>"
    with WorkerPool(size=2) as pool:
        parsed = parse_feed_with_budget(feed, {}, "https://e.com/feed", 60, pool)
        pids = {pool.run(os.getpid, (), 60, (ParseTimeout, ParseCrashed)) for _ in range(20)}
    assert [entry.title for entry in parsed.entries] == ["a"] and len(pids) <= 2
