"""The CPU half of `newswatch import`: lines in, articles ready to store out, on every core.

`prepare_lines(first, lines)` is a pure function of a chunk of an archive's lines: each line
read (`extractors.archive`), its language settled, matched against the rules and sketched
for story grouping, or a `BadLine`. It runs in worker processes (`prepare_chunks`), each
compiling the rules once (`start_worker`); the main process keeps the one thing that must
stay in order and in one place: storing, batch by batch, in one transaction each.
Chunks come back in the order they were read, so line numbers, "first occurrence wins"
and story order are the same as a one-process import's.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from extractors.archive import BadLine, read_line
from extractors.language import settle_language
from extractors.models import Article, FeedEntry
from matching import RuleSet, compile_rules
from matching.models import MatchInput, RuleMatch
from store.similarity import Sketch, sketch_text

CHUNK_LINES = 500  # lines per task: large enough that pickling is a small share of the work


@dataclass(frozen=True)
class PreparedArticle:
    """A good line, matched and sketched: everything the store needs."""

    line: int
    feed: str
    entry: FeedEntry
    article: Article
    matches: tuple[RuleMatch, ...]
    sketch: Sketch | None


@dataclass(frozen=True)
class Matcher:
    """What a worker needs to match: the compiled rules and the tags of feeds.yaml's feeds."""

    ruleset: RuleSet | None  # None in the main process when workers compile their own
    tags: dict[str, tuple[str, ...]]


_WORKER: dict[str, Matcher] = {}


def start_worker(rules, aliases, tags: dict[str, tuple[str, ...]]) -> None:
    """Compile the rules once per worker process."""
    _WORKER["matcher"] = Matcher(compile_rules(rules, aliases), tags)


def prepare_in_worker(first: int, lines: Sequence[bytes]) -> list[PreparedArticle | BadLine]:
    return prepare_lines(_WORKER["matcher"], first, lines)


def prepare_lines(matcher: Matcher, first: int, lines: Sequence[bytes]) -> list[PreparedArticle | BadLine]:
    """Each non-blank line (numbered from `first`) prepared, or the BadLine saying why not."""
    prepared: list[PreparedArticle | BadLine] = []
    for number, raw in enumerate(lines, start=first):
        text = raw.decode("utf-8", errors="replace")
        if not text.strip():
            continue
        item = read_line(number, text)
        prepared.append(item if isinstance(item, BadLine) else prepare_article(matcher, item))
    return prepared


def prepare_article(matcher: Matcher, item) -> PreparedArticle:
    article = settle_language(item.article, None)  # the line's `language` is a hint, as a page's is
    doc = MatchInput(title=article.title, body=article.text, language=article.language,
                     feed_tags=matcher.tags.get(item.feed, ()))
    sketch = sketch_text(f"{article.title or item.entry.title or ''}\n{article.text or ''}")
    return PreparedArticle(item.line, item.feed, item.entry, article, tuple(matcher.ruleset.match(doc)), sketch)


def chunk_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the first line, the lines) in chunks of CHUNK_LINES."""
    chunk: list[bytes] = []
    first = 1
    for number, line in enumerate(lines, start=1):
        if not chunk:
            first = number
        chunk.append(line)
        if len(chunk) >= CHUNK_LINES:
            yield first, chunk
            chunk = []
    if chunk:
        yield first, chunk


def prepare_chunks(chunks: Iterable[tuple[int, list[bytes]]], matcher: Matcher, workers: int,
                   rules_source: tuple) -> Iterator[list[PreparedArticle | BadLine]]:
    """The chunks prepared, in order: in this process when `workers` is 1, else in a pool of
    `workers` processes with at most two chunks each in flight (memory stays bounded)."""
    if workers <= 1:
        yield from (prepare_lines(matcher, first, lines) for first, lines in chunks)
        return
    # spawn, not fork: the parent may run threads (a progress bar, database pools)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=start_worker, initargs=(*rules_source, matcher.tags)) as pool:
        pending: deque[Future] = deque()
        for first, lines in chunks:
            pending.append(pool.submit(prepare_in_worker, first, lines))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
