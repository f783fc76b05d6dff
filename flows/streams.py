"""How a pass does several things at once: the one place that knows threads, queues and processes.

    with Lanes(threads=16, per_host=2, workers=WorkerPool()) as lanes:
        for item, result in lanes.on_threads(fn, items, host=host_of_item): ...
        for key, outcome in lanes.in_workers(func, ((key, args), ...), budget, errors): ...
        lanes.in_worker(func, args, budget, errors)  -> func(*args) in a worker, or raises

Both streams take their input lazily (an iterator that may block, such as another stream: a
feed's pages are fetched while slower feeds are still being polled), run the calls
concurrently and yield in completion order, so the stages of a pass chain like generators.
`on_threads` runs `fn(item)` on up to `threads` threads, at most `per_host` at once for one
host (one big outlet never holds every thread while other publishers wait), taking first the
host with most items left so that the hosts finish together; at most `2 x threads` results
are in flight or waiting to be taken, so memory stays bounded however long the input is. An
exception of `fn` is raised in the consumer. `in_workers` runs `func(*args)` in the worker
processes (`extractors.workers`) with a time budget each, keeping them fed from a thread of
its own while the consumer matches and stores; `outcome` is the result or the `WorkFailed`.
A stream that stops early (its consumer raised) stops every stream of the pass.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from extractors.errors import WorkFailed
from extractors.workers import Errors, WorkerPool

_END = object()


def host_of(url: str | None) -> str:
    try:
        return (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return ""


class Lanes:
    """The pass's threads and worker processes; see the module's contract."""

    def __init__(self, threads: int, per_host: int, workers: WorkerPool) -> None:
        self.threads, self.per_host, self.workers = max(1, threads), max(1, per_host), workers
        self._running: list[HostQueue | threading.Event] = []  # the streams a failure stops

    def __enter__(self) -> Lanes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the streams running now (a failure in one ends the others); later ones start afresh."""
        running, self._running = self._running, []
        for stream in running:
            stream.set() if isinstance(stream, threading.Event) else stream.stop()

    def in_worker(self, func: Callable[..., Any], args: tuple, budget: float, errors: Errors) -> Any:
        return self.workers.run(func, args, budget, errors)

    def on_threads(self, fn: Callable[[Any], Any], items: Iterable[Any],
                   host: Callable[[Any], str]) -> Iterator[tuple[Any, Any]]:
        jobs = HostQueue(window=2 * self.threads, per_host=self.per_host)
        self._running.append(jobs)
        done: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=_add_all, args=(items, host, jobs, done), daemon=True).start()
        for _ in range(self.threads):
            threading.Thread(target=_run_jobs, args=(fn, jobs, done), daemon=True).start()
        return self._results(done, self.threads + 1, jobs.taken)

    def in_workers(self, func: Callable[..., Any], items: Iterable[tuple[Hashable, tuple]], budget: float,
                   errors: Errors) -> Iterator[tuple[Hashable, Any]]:
        done: queue.SimpleQueue = queue.SimpleQueue()
        room = threading.Semaphore(4 * self.workers.size)  # each worker has its next calls waiting
        stopped = threading.Event()
        self._running.append(stopped)

        def finished(key: Hashable, future) -> None:
            room.release()
            done.put((key, future))

        def submit_all() -> None:
            submitted = 0
            try:
                for key, args in items:
                    while not room.acquire(timeout=0.5):
                        if stopped.is_set():
                            return
                    future = self.workers.submit(func, args, budget, errors)
                    submitted += 1
                    future.add_done_callback(lambda f, key=key: finished(key, f))
            except BaseException as exc:  # noqa: BLE001 - raised in the consumer
                done.put((None, exc))
            finally:
                done.put((_END, submitted))

        threading.Thread(target=submit_all, daemon=True).start()
        expected, received = None, 0
        for key, value in self._results(done, 1, lambda: None, until=lambda: expected == received):
            if key is _END:
                expected = value
                continue
            received += 1
            try:
                yield key, value.result()
            except WorkFailed as failure:
                yield key, failure

    def _results(self, done: queue.SimpleQueue, producers: int, taken: Callable[[], None],
                 until: Callable[[], bool] | None = None) -> Iterator:
        """What the producer threads put in `done` until each of them put _END (and `until()`
        holds); raises their errors. With `until`, the _END markers are yielded too."""
        try:
            while producers or (until is not None and not until()):
                item, value = done.get()
                if item is _END:
                    producers -= 1
                    if until is not None:
                        yield item, value
                elif isinstance(value, BaseException):
                    raise value
                else:
                    taken()
                    yield item, value
        except BaseException:
            self.stop()
            raise


def _add_all(items: Iterable[Any], host: Callable[[Any], str], jobs: HostQueue, done: queue.SimpleQueue) -> None:
    try:
        for item in items:
            jobs.add(host(item), (item,))
    except BaseException as exc:  # noqa: BLE001 - raised in the consumer
        done.put((None, exc))
    finally:
        jobs.close()
        done.put((_END, None))


def _run_jobs(fn: Callable[[Any], Any], jobs: HostQueue, done: queue.SimpleQueue) -> None:
    try:
        while (picked := jobs.next_job()) is not None:
            host, item = picked
            try:
                done.put((item, fn(item)))
            except BaseException as exc:  # noqa: BLE001 - raised in the consumer
                done.put((item, exc))
            finally:
                jobs.finished(host)
    finally:
        done.put((_END, None))


class HostQueue:
    """Items queued per host; hands out the next item whose host and the window have room."""

    def __init__(self, window: int, per_host: int) -> None:
        self.cond = threading.Condition()
        self.pending: dict[str, deque] = {}
        self.active: Counter = Counter()
        self.room, self.per_host = window, per_host
        self.closed = self.stopped = False

    def add(self, host: str, items: Iterable[Any]) -> None:
        items = list(items)
        with self.cond:
            self.pending.setdefault(host, deque()).extend(items)
            self.cond.notify(len(items))  # one waiting thread per item: each wake-up costs a GIL hand-off

    def close(self) -> None:
        """No more items will be added."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def next_job(self) -> tuple[str, Any] | None:
        """Block until an item may start; None once none will (closed and drained, or stopped)."""
        with self.cond:
            while not self.stopped:
                picked = self._pick() if self.room > 0 else None
                if picked:
                    self.room -= 1
                    self.active[picked[0]] += 1
                    return picked
                if self.closed and not self.pending:
                    self.cond.notify_all()  # the other waiting threads end too (wakes are one by one)
                    return None
                self.cond.wait()
            return None

    def _pick(self) -> tuple[str, Any] | None:
        """The next item of the host with most items left among those under their cap (the
        first of equals). Hosts strictly in turn finished the small hosts first and left the
        biggest one alone at the end, `per_host` pages at a time while the workers waited."""
        best = None
        for host, items in self.pending.items():
            if self.active[host] < self.per_host and (best is None or len(items) > len(self.pending[best])):
                best = host
        if best is None:
            return None
        items = self.pending.pop(best)
        item = items.popleft()
        if items:
            self.pending[best] = items  # to the back of the line among equals
        return best, item

    def finished(self, host: str) -> None:
        """A call for `host` ended: another item of that host may start."""
        with self.cond:
            self.active[host] -= 1
            self.cond.notify()

    def taken(self) -> None:
        """A result left the window (the consumer took it): room for one more item."""
        with self.cond:
            self.room += 1
            self.cond.notify()
