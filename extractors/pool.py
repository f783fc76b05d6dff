"""Extract many pages on all cores, each page with its own time budget.

Contract:
    with ExtractionPool(workers=None, budget_seconds=30.0) as pool:
        for key, outcome in pool.extract_many((key, html_bytes, url, headers) ...):
            outcome is an Article, or an error_class str:
            "extract_timeout" (worker killed after the budget), "extract_crashed"
            (worker died, e.g. over its memory cap), "extract_empty" (no article found)
Results come in completion order, not input order. The input iterable is consumed
lazily and at most one page per worker is in flight, so memory stays bounded however
many pages are queued; each worker's address space is capped (`memory_limit_mb`) and
workers are recycled after `max_tasks_per_worker` pages. `close()` (or leaving the
`with` block) stops every worker; a worker over budget is killed, not waited for.
With `share_workers=True` the pool borrows idle warm workers of the feed-parsing pool
(`extractors.workers.shared_pool`, the same kind of process, trafilatura preloaded)
before starting its own, and hands its idle workers back on close: a pass then runs one
set of worker processes, and the next pass (under `serve`) finds them started.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import wait
from typing import Any

from extractors.articles import extract_article
from extractors.models import Article
from extractors.workers import Worker, shared_pool

Task = tuple[Any, bytes, str, "dict[str, str] | None"]


def extract_for_pool(html: bytes, url: str, headers: dict[str, str] | None) -> Article | str:
    article = extract_article(html, url, headers)
    return article if article.text else "extract_empty"


class ExtractionPool:
    def __init__(
        self,
        workers: int | None = None,
        budget_seconds: float = 30.0,
        memory_limit_mb: int = 2048,
        max_tasks_per_worker: int = 500,
        share_workers: bool = False,
    ) -> None:
        self.size = max(workers or os.cpu_count() or 1, 1)
        self.share_workers = share_workers
        self.budget = budget_seconds
        self.memory_limit = memory_limit_mb * 1024 * 1024
        self.max_tasks = max_tasks_per_worker
        self._idle: list[Worker] = []

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker; with `share_workers`, idle ones go back to the shared pool."""
        while self._idle:
            worker = self._idle.pop()
            shared_pool().give(worker) if self.share_workers else worker.stop()

    def extract_many(self, tasks: Iterable[Task]) -> Iterator[tuple[Any, Article | str]]:
        pending = iter(tasks)
        busy: dict[Any, tuple[Worker, Any, float]] = {}
        exhausted = False
        try:
            while True:
                exhausted = exhausted or not self._fill(pending, busy)
                if not busy:
                    return
                yield from self._collect(busy)
        finally:
            for worker, _key, _start in busy.values():
                worker.kill()

    def _fill(self, pending: Iterator[Task], busy: dict) -> bool:
        """Start tasks until every worker is busy; False once the input is exhausted."""
        while len(busy) < self.size:
            task = next(pending, None)
            if task is None:
                return False
            key, html, url, headers = task
            worker = self._take()
            worker.wait_started()
            worker.submit(extract_for_pool, (html, url, headers))
            busy[worker.conn] = (worker, key, time.monotonic())
        return True

    def _collect(self, busy: dict) -> Iterator[tuple[Any, Article | str]]:
        now = time.monotonic()
        next_deadline = min(start + self.budget for _w, _k, start in busy.values())
        for conn in wait(list(busy), timeout=max(next_deadline - now, 0)):
            worker, key, _start = busy.pop(conn)
            yield key, self._result_of(worker)
        now = time.monotonic()
        for conn in [c for c, (_w, _k, start) in busy.items() if now - start > self.budget]:
            worker, key, _start = busy.pop(conn)
            worker.kill()
            yield key, "extract_timeout"

    def _result_of(self, worker: Worker) -> Article | str:
        status, value = worker.receive()
        if status == "ok":
            self._give_back(worker)
            return value
        worker.kill()
        return "extract_crashed"

    def _take(self) -> Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive():
                return worker
            worker.kill()
        lent = shared_pool().lend() if self.share_workers else None
        return lent or Worker(self.memory_limit)

    def _give_back(self, worker: Worker) -> None:
        if worker.tasks_done >= self.max_tasks:
            worker.stop()
        else:
            self._idle.append(worker)
