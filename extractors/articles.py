"""Page bytes in, a clean `Article` out. No I/O.

Contract:
    extract_article(html, url, headers=None) -> Article
is `extract_page` with the article's language decided (`extractors.language.settle_language`).

    extract_page(html, url, headers=None) -> Article
decodes the bytes (`extractors.charset`), removes link-dense chrome from the HTML
(`extractors.pageprep`), runs `trafilatura.bare_extraction(..., with_metadata=True)`
(never `fetch_url`), then post-cleans the text (`extractors.cleaning`). Metadata:
title, date (ISO), author, canonical URL (canonicalised), and as `language` the one the
page declares (trafilatura's, else <html lang> / Content-Language), only a hint: its
`language_source` is None, the language not decided yet. The extraction workers run this;
the pass decides the language before matching, with the feed's language as a further hint,
so the language model is loaded in one process, not in each worker.
When nothing article-like is found the Article has text "" and
flagged="extract_empty"; the flow then uses `fallback_article`.

    extract_fetched(page) -> Article
is `extract_page` of a fetched page (an `extractors.http.FetchResult`) as the pass's workers
run it: `PageUnavailable` (the fetch's error class, or "no_link" for None) or `ExtractEmpty`
is raised instead of returning an article without text (`extractors.errors`).

trafilatura (with lxml and justext) is imported on the first extraction, not with this
module: the pass process imports this module to hand pages to the workers and never parses
one itself, so only the workers pay for the extractor. Every RESET_CACHES_EVERY
extractions, trafilatura's caches are cleared (`trafilatura.meta.reset_caches`, its
documented remedy): its memoised stop lists and text caches otherwise keep growing for the
worker's life, and re-filling them is cheap next to the extractions between two clears.

    fallback_article(entry, reason) -> Article
is the feed entry's own title and summary (summary as text), flagged with `reason`,
its language decided from them with the entry's (or feed's) language as the hint.
"""

from __future__ import annotations

import itertools

from extractors.charset import decode_html
from extractors.cleaning import clean_article_text
from extractors.errors import ExtractEmpty, PageUnavailable
from extractors.language import decide_language, detection_text, iso_language, settle_language
from extractors.models import Article, FeedEntry
from extractors.pageprep import prepare_tree
from extractors.text import clean_text
from extractors.urls import canonicalize_url

MAX_TITLE = 1_000
MAX_TEXT = 200_000
MIN_TEXT = 20  # shorter than this is a stray label, not an article
RESET_CACHES_EVERY = 50  # extractions between two clears of trafilatura's caches
EXTRACTIONS = itertools.count(1)


def extract_fetched(page) -> Article:
    if page is None:
        raise PageUnavailable("no_link")
    if not page.ok:
        raise PageUnavailable(page.error_class or "fetch_failed", page.error or "")
    article = extract_page(page.body, page.final_url, page.headers)
    if not article.text:
        raise ExtractEmpty(f"no article found in {page.final_url}")
    return article


def extract_article(html: bytes | str, url: str, headers: dict[str, str] | None = None) -> Article:
    return settle_language(extract_page(html, url, headers), None)


def extract_page(html: bytes | str, url: str, headers: dict[str, str] | None = None) -> Article:
    from trafilatura.utils import load_html

    page = html if isinstance(html, str) else decode_html(html, headers)
    tree = load_html(page) if page.strip() else None
    if tree is None:
        return empty_article(url)
    language = page_language(tree, headers)
    prepare_tree(tree)
    document = run_trafilatura(tree, url)
    if document is None:
        return empty_article(url, language=language)
    return build_article(document, url, language)


def run_trafilatura(tree, url: str):
    import trafilatura
    from trafilatura.meta import reset_caches

    try:
        return trafilatura.bare_extraction(
            tree, url=url or None, with_metadata=True, include_comments=False, include_tables=True
        )
    except (ValueError, TypeError, RecursionError):
        return None
    finally:
        if next(EXTRACTIONS) % RESET_CACHES_EVERY == 0:
            reset_caches()


def build_article(document, url: str, language: str | None) -> Article:
    text = clean_text(clean_article_text(document.text or ""), MAX_TEXT)
    text = text if len(text) >= MIN_TEXT else ""
    return Article(
        url=url,
        title=clean_text(document.title, MAX_TITLE),
        text=text,
        date=clean_text(document.date) or None,
        language=iso_language(getattr(document, "language", None)) or language,
        author=clean_text(document.author, 500) or None,
        canonical_url=canonicalize_url(clean_text(document.url)) or None,
        flagged=None if text else "extract_empty",
    )


def empty_article(url: str, language: str | None = None) -> Article:
    return Article(url=url, title="", text="", language=language, flagged="extract_empty")


def page_language(tree, headers: dict[str, str] | None) -> str | None:
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    candidates += tree.xpath('//meta[@http-equiv][translate(@http-equiv,"CONTENTLAGU","contentlagu")'
                             '="content-language"]/@content')
    candidates += tree.xpath('//meta[@property="og:locale"]/@content')
    candidates += [v for k, v in (headers or {}).items() if k.lower() == "content-language"]
    for candidate in candidates:
        code = iso_language(candidate)
        if code:
            return code
    return None


def fallback_article(entry: FeedEntry, reason: str) -> Article:
    decision = decide_language(detection_text(entry.title, entry.summary), entry.language)
    return Article(
        url=entry.link or "",
        title=entry.title,
        text=entry.summary or entry.title,
        language=decision.language,
        language_source=decision.source,
        date=entry.published.isoformat() if entry.published else None,
        author=entry.author,
        canonical_url=entry.link,
        flagged=reason,
    )
