"""The stored history matched against rules, batch by batch, on every core.

`match_history(engine, job, since=..., progress=...)` yields `(article_id, matches)` for
every stored article (published since `since`), oldest id first, exactly as `RuleSet.match`
answers for each one: the matcher's prefilter picks the rules an article can hit, and only
those are evaluated. Articles are read from the database BATCH at a time
(`store.history.iter_stored_articles`), so memory stays the same over a million of them.

With more than POOL_MIN articles and more than one core, the batches are matched in a pool
of worker processes (one per core), each compiling the rules once (from the rule-set
cache, see `matching.cache`); at most IN_FLIGHT batches per worker are out at once, and
results come back in the order the batches were read, so the answer is the one a single
process gives. `progress(done, total)` is told after each batch.

Plain Python, no Prefect: `rules preview`, `backfill` and `rules suggest` call it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from sqlalchemy import Engine

from config.models import AliasGroup, RuleConfig
from matching import RuleSet, compile_rules
from matching.models import MatchInput, RuleMatch
from store.history import StoredArticle, count_stored_articles, iter_stored_articles

BATCH = 500
POOL_MIN = 50_000  # fewer are matched in this process: starting workers (imports, rules) and sending
# them the texts cost more than a second core gains (the matcher takes ~0.1 ms per article at 100 rules)
IN_FLIGHT = 2  # batches per worker sent ahead

Progress = Callable[[int, int], None]
Batch = list[tuple[int, MatchInput]]


@dataclass(frozen=True)
class MatchJob:
    """What to match with: the rules, their aliases, the feeds' tags, where the rule-set cache is."""

    rules: tuple[RuleConfig, ...]
    aliases: Mapping[str, AliasGroup]
    feed_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cache_dir: str | None = None

    def ruleset(self) -> RuleSet:
        return compile_rules(self.rules, self.aliases, self.cache_dir)


def match_history(engine: Engine, job: MatchJob, *, since: datetime | None = None,
                  progress: Progress | None = None, workers: int | None = None,
                  pool_min: int = POOL_MIN, batch: int = BATCH) -> Iterator[tuple[int, list[RuleMatch]]]:
    """Every stored article (since `since`) with the rules it hits, oldest id first."""
    ruleset = job.ruleset()  # compiled (and cached for the workers) here first: a bad rule fails here
    total = count_stored_articles(engine, since)
    workers = usable_cores() if workers is None else workers
    batches = read_batches(engine, job, since, batch)
    if workers < 2 or total < pool_min:
        results = map(match_batch_with(ruleset), batches)
    else:
        results = match_in_pool(job, batches, workers)
    done = 0
    for result in results:
        done += len(result)
        yield from result
        if progress is not None:
            progress(done, total)


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def read_batches(engine: Engine, job: MatchJob, since: datetime | None, size: int = BATCH) -> Iterator[Batch]:
    articles = iter_stored_articles(engine, since)
    while batch := list(islice(articles, size)):
        yield [(article.article_id, stored_input(article, job.feed_tags)) for article in batch]


def stored_input(article: StoredArticle, tags: Mapping[str, tuple[str, ...]]) -> MatchInput:
    """A stored article as a pass matched it: clean title and text, language, its feed's tags."""
    return MatchInput(title=article.title, body=article.text, language=article.language,
                      feed_tags=tags.get(article.feed_url, ()))


def match_batch_with(ruleset: RuleSet) -> Callable[[Batch], list[tuple[int, list[RuleMatch]]]]:
    return lambda batch: [(article_id, ruleset.match(document)) for article_id, document in batch]


def match_in_pool(job: MatchJob, batches: Iterator[Batch], workers: int) -> Iterator[list[tuple[int, list[RuleMatch]]]]:
    """The batches matched by `workers` processes, results in input order, a bounded number out."""
    context = multiprocessing.get_context("spawn")  # fork is unsafe in a process with threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=start_worker,
                             initargs=(job,)) as pool:
        pending: deque[Future] = deque()
        for batch in batches:
            pending.append(pool.submit(match_batch, batch))
            if len(pending) >= workers * IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


_worker_ruleset: list[RuleSet] = []  # the worker process's compiled rules


def start_worker(job: MatchJob) -> None:
    _worker_ruleset[:] = [job.ruleset()]


def match_batch(batch: Batch) -> list[tuple[int, list[RuleMatch]]]:
    """In a worker: each article of the batch matched."""
    return match_batch_with(_worker_ruleset[0])(batch)


def feed_tags(feeds: Sequence) -> dict[str, tuple[str, ...]]:
    """feed URL -> its tags in feeds.yaml (what routes a rule's `tags`)."""
    return {feed.url: feed.tags for feed in feeds}
