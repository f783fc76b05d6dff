"""Extract many pages on all cores, each page with its own time budget.

Contract:
    with ExtractionPool(workers=None, budget_seconds=30.0) as pool:
        for key, outcome in pool.extract_many((key, html_bytes, url, headers) ...):
            outcome is an Article, or an error_class str:
            "extract_timeout" (worker killed after the budget), "extract_crashed"
            (worker died, e.g. over its memory cap), "extract_empty" (no article found)
Results come in completion order, not input order. The input iterable is consumed
lazily and at most DEPTH pages per worker are in flight: the one it is extracting and
the next, already waiting in its pipe, so a worker never waits for this process
(which fetches, matches and stores meanwhile) to hand it work. A page is queued
behind another only while both fit the pipe's buffer (`Worker.pipe_capacity`), so
sending never blocks; a page's time budget starts when its worker starts it. Memory
stays bounded however many pages are queued; each worker's address space is capped
(`memory_limit_mb`) and workers are recycled after `max_tasks_per_worker` pages (a guard
against leaks: on the benchmark's pages a worker's RSS stays at ~100 MB from its 250th page
to its 1,500th, and each restart costs ~0.2 s of start-up). `close()` (or leaving the
`with` block) stops every worker; a worker over budget is killed, not waited for.
With `share_workers=True` the pool borrows idle warm workers of the feed-parsing pool
(`extractors.workers.shared_pool`, the same kind of process, trafilatura preloaded),
waiting up to LEND_WAIT_SECONDS for one that is finishing a feed's parse, before starting
its own, and hands its idle workers back on close: a pass then runs one set of worker
processes, and the next pass (under `serve`) finds them started.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from extractors.articles import extract_page
from extractors.models import Article
from extractors.workers import Worker, encode_call, shared_pool

Task = tuple[Any, bytes, str, "dict[str, str] | None"]
DEPTH = 2  # pages per worker in flight: the one being extracted and the next
# How long a first page waits for a feed-parsing worker that is busy, and how long after it
# further slots wait for one rather than start a process: a parse ends in milliseconds,
# while a process of our own costs 0.2-0.3 s of start-up on the critical path (and its CPU),
# and at the end of the pass, being one too many, a stop. Past it (polls of a big config
# keep the parsing workers busy), the pool starts its own, so extraction runs on every core.
LEND_WAIT_SECONDS = 1.0


def extract_for_pool(html: bytes, url: str, headers: dict[str, str] | None) -> Article | str:
    article = extract_page(html, url, headers)  # the pass decides the language (one model, not one per worker)
    return article if article.text else "extract_empty"


@dataclass
class _Sent:
    key: Any
    frame: bytes


@dataclass
class _Slot:
    """A worker of this pool and the pages sent to it, oldest (the one it is on) first."""

    worker: Worker
    sent: deque = field(default_factory=deque)
    started: float = 0.0  # when the worker started the oldest page

    def room_for(self, frame: bytes, max_tasks: int) -> bool:
        """May `frame` be sent now without blocking: a free worker, or one more page in its
        pipe (not past the worker's last page before it is recycled)."""
        if not self.sent:
            return True
        return len(self.sent) < DEPTH and self.worker.tasks_done + len(self.sent) < max_tasks and \
            sum(len(s.frame) for s in self.sent) + len(frame) <= self.worker.pipe_capacity

    def send(self, key: Any, frame: bytes) -> None:
        if not self.sent:
            self.started = time.monotonic()
        self.sent.append(_Sent(key, frame))
        self.worker.submit_encoded(frame)


class ExtractionPool:
    def __init__(
        self,
        workers: int | None = None,
        budget_seconds: float = 30.0,
        memory_limit_mb: int = 2048,
        max_tasks_per_worker: int = 2000,
        share_workers: bool = False,
    ) -> None:
        self.size = max(workers or os.cpu_count() or 1, 1)
        self.share_workers = share_workers
        self.budget = budget_seconds
        self.memory_limit = memory_limit_mb * 1024 * 1024
        self.max_tasks = max_tasks_per_worker
        self._idle: list[Worker] = []
        self._first_slot_at = 0.0  # when the first slot of the current extract_many was taken
        self._own: list[Worker] = []  # the processes this pool started (not borrowed)

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def release_spare_workers(self) -> None:
        """Once the feeds are all parsed: stop the feed-parsing pool's idle workers that this
        pool's own processes make spare. A big pass starts its own while every parsing worker
        is busy, and the parsing workers then sat idle beside them to the end of the pass (two
        processes, 40 MB each: 5,000 articles peaked at 516-526 MB where 1,000 take 420). This
        pool's own go back to the shared pool on close (up to its size)."""
        if not self.share_workers:
            return
        own = sum(1 for worker in list(self._own) if worker.alive())
        if own:
            shared = shared_pool()
            shared.stop_idle(keep=max(0, shared.size - own))

    def close(self) -> None:
        """Stop every worker; with `share_workers`, idle ones go back to the shared pool."""
        while self._idle:
            worker = self._idle.pop()
            shared_pool().give(worker) if self.share_workers else worker.stop()

    def extract_many(self, tasks: Iterable[Task]) -> Iterator[tuple[Any, Article | str]]:
        pending = iter(tasks)
        waiting: deque = deque()  # (key, frame) taken from the input, not yet sent
        slots: list[_Slot] = []
        exhausted = False
        try:
            while True:
                exhausted = self._fill(pending, waiting, slots, exhausted)
                if not any(slot.sent for slot in slots):
                    return
                yield from self._collect(slots, waiting)
        finally:
            for slot in slots:
                if slot.sent:
                    slot.worker.kill()
                else:
                    self._give_back(slot.worker)

    def _fill(self, pending: Iterator[Task], waiting: deque, slots: list[_Slot], exhausted: bool) -> bool:
        """Send pages while a worker has room (idle ones first, starting workers up to the
        pool's size); True once the input is exhausted."""
        while True:
            if not waiting:
                task = None if exhausted else next(pending, None)
                if task is None:
                    return True
                key, html, url, headers = task
                waiting.append((key, encode_call(extract_for_pool, (html, url, headers))))
            key, frame = waiting[0]
            slot = self._slot_for(frame, slots)
            if slot is None:
                return exhausted
            waiting.popleft()
            slot.send(key, frame)

    def _slot_for(self, frame: bytes, slots: list[_Slot]) -> _Slot | None:
        idle = next((slot for slot in slots if not slot.sent), None)
        if idle is None and len(slots) < self.size:
            worker = self._take(first=not slots)
            if worker is not None:
                idle = _Slot(worker)
                idle.worker.wait_started()
                slots.append(idle)
        if idle is not None:
            return idle
        return next((slot for slot in slots if slot.room_for(frame, self.max_tasks)), None)

    def _collect(self, slots: list[_Slot], waiting: deque) -> Iterator[tuple[Any, Article | str]]:
        for slot in [slot for slot in slots if slot.sent and slot.worker.closed]:  # a send found it dead
            yield slot.sent[0].key, self._result_of(slot, slots, waiting)
        busy = {slot.worker.conn: slot for slot in slots if slot.sent}
        if not busy:
            return
        now = time.monotonic()
        next_deadline = min(slot.started + self.budget for slot in busy.values())
        for conn in wait(list(busy), timeout=max(next_deadline - now, 0)):
            slot = busy[conn]
            yield slot.sent[0].key, self._result_of(slot, slots, waiting)
        now = time.monotonic()
        for slot in [slot for slot in busy.values() if slot in slots and slot.sent and
                     now - slot.started > self.budget]:
            key = slot.sent[0].key
            self._drop(slot, slots, waiting)
            yield key, "extract_timeout"

    def _result_of(self, slot: _Slot, slots: list[_Slot], waiting: deque) -> Article | str:
        status, value = slot.worker.receive()
        if status != "ok":
            self._drop(slot, slots, waiting)
            return "extract_crashed"
        slot.sent.popleft()
        slot.started = time.monotonic()  # the worker moves on to the next page sent, if any
        if not slot.sent and slot.worker.tasks_done >= self.max_tasks:
            slots.remove(slot)
            slot.worker.stop()
        return value

    def _drop(self, slot: _Slot, slots: list[_Slot], waiting: deque) -> None:
        """Kill a worker that is over budget or died; the pages queued behind the one it
        was on go back to the front of the line, for another worker."""
        slot.worker.kill()
        slots.remove(slot)
        slot.sent.popleft()
        waiting.extendleft((sent.key, sent.frame) for sent in reversed(slot.sent))

    def _take(self, first: bool = True) -> Worker | None:
        """A worker for a new slot; None (for now) when sharing and a busy feed-parsing
        worker will soon be idle: the slots already running go on, and the next page asks
        again, for up to LEND_WAIT_SECONDS after the first slot."""
        while self._idle:
            worker = self._idle.pop()
            if worker.alive():
                return worker
            worker.kill()
        if not self.share_workers:
            return Worker(self.memory_limit)
        shared = shared_pool()
        if first:
            self._first_slot_at = time.monotonic()
        lent = shared.lend(wait=LEND_WAIT_SECONDS if first else 0.0)
        if lent is None and not first and shared.busy and \
                time.monotonic() - self._first_slot_at < LEND_WAIT_SECONDS:
            return None
        if lent is not None:
            return lent
        worker = Worker(self.memory_limit)
        self._own = [w for w in self._own if w.alive()] + [worker]
        return worker

    def _give_back(self, worker: Worker) -> None:
        if worker.tasks_done >= self.max_tasks:
            worker.stop()
        else:
            self._idle.append(worker)
