"""The two streams around extraction in a pass: pages coming in, articles going to the store.

    for job, result in fetch_pages(ctx, polls, polls_seen): ...
fetches the page of every new entry of `polls`, yielding (job, FetchResult | None) in
completion order (None: the entry has no link). `polls` may still be arriving (an iterator
that blocks on slow feeds): a reader thread takes each as it comes, appends it to
`polls_seen` and queues its entries under their host. `fetch.concurrency` fetch threads
each take the next job themselves, only for a host with fewer than
`fetch.per_host_concurrency` fetches in flight, so one big feed never fills every fetch
thread while other publishers wait (the client's own per-host cap stays the safety net and
then never blocks a thread), taking first the host with the most pages left, so that the
hosts finish together. At most `2 x fetch.concurrency` pages are in flight or fetched but
not yet taken, so memory stays bounded however many entries are new.

    with BatchWriter(save) as writer: writer.put(key, item)
hands items to one writer thread that calls `save({key: [item, ...], ...})` (items grouped
by key, in arrival order) each time `batch_size` items are waiting, and for the rest on a
clean exit, so the thread that feeds the extraction workers never waits for the database,
and what is left to save when extraction ends is at most one batch. A save error is
raised in the caller on its next `put` or on exit. The queue is bounded (back-pressure,
bounded memory).

Threads wake only when there is work for them: a fetch thread that ends a fetch takes
its next job itself (no dispatcher thread between them), and the writer gets a whole
batch at a time. Each wake-up is a GIL hand-off and a context switch that also evicts an
extraction worker from its core, and a pass made ~20 of them per page.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

_END = object()
log = logging.getLogger("newswatch.pass")


def host_of(url: str | None) -> str:
    try:
        return (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return ""


class HostQueue:
    """Jobs queued per host; hands out the next job whose host and the window have room."""

    def __init__(self, window: int, per_host: int) -> None:
        self.cond = threading.Condition()
        self.pending: dict[str, deque] = {}
        self.active: Counter = Counter()
        self.room, self.per_host = window, per_host
        self.closed = self.stopped = False

    def add(self, host: str, jobs: Iterable[Any]) -> None:
        with self.cond:
            self.pending.setdefault(host, deque()).extend(jobs)
            self.cond.notify_all()

    def close(self) -> None:
        """No more jobs will be added."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def next_job(self) -> tuple[str, Any] | None:
        """Block until a job may start; None once none will (closed and drained, or stopped)."""
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
        """The next job of the host with the most jobs left among those under their cap
        (the first of equals, which then goes to the back of the line). Taking hosts
        strictly in turn finished the small hosts first and left the biggest one alone at
        the end, fetching `per_host` pages at a time while the extraction workers waited
        (2 s of a 1,000-article pass with idle cores)."""
        best = None
        for host, jobs in self.pending.items():
            if self.active[host] < self.per_host and (best is None or len(jobs) > len(self.pending[best])):
                best = host
        if best is None:
            return None
        jobs = self.pending.pop(best)
        job = jobs.popleft()
        if jobs:
            self.pending[best] = jobs
        return best, job

    def finished(self, host: str) -> None:
        """A fetch for `host` ended; one waiting thread may now take a job of that host (the
        thread that ended it asks for its next job anyway)."""
        with self.cond:
            self.active[host] -= 1
            self.cond.notify()

    def taken(self) -> None:
        """A fetched page left the window (the consumer took it): room for one more job."""
        with self.cond:
            self.room += 1
            self.cond.notify()


def fetch_pages(ctx, polls: Iterable, polls_seen: list) -> Iterator[tuple[tuple, Any]]:
    """(job, FetchResult | None) for every new entry of `polls`, job = (poll, entry); see module doc."""
    fetch = ctx.config.settings.fetch
    workers = max(1, fetch.concurrency)
    hosts = HostQueue(window=2 * workers, per_host=max(1, fetch.per_host_concurrency))
    done: queue.Queue = queue.Queue()

    def read_polls() -> None:
        try:
            for poll in polls:
                polls_seen.append(poll)
                by_host: dict[str, list] = defaultdict(list)
                for entry in poll.new_entries:
                    by_host[host_of(entry.link)].append((poll, entry))
                for host, jobs in by_host.items():
                    hosts.add(host, jobs)
            try:
                ctx.extraction.release_spare_workers()  # no feed is left to parse in this pass
            except Exception:  # noqa: BLE001 - a memory saving; never a reason to stop the pass
                log.warning("could not stop the spare feed-parsing workers", exc_info=True)
        except BaseException as exc:  # re-raised in the consuming thread
            done.put((None, exc, None))
        finally:
            hosts.close()

    def fetch_jobs() -> None:
        try:
            while (picked := hosts.next_job()) is not None:
                host, job = picked
                try:
                    outcome: tuple = (job, _fetch_page(ctx.client, job[1]), None)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the consuming thread
                    outcome = (job, None, exc)
                hosts.finished(host)
                done.put(outcome)
        finally:
            done.put((_END, None, None))  # one per thread: the stream ends with the last

    threading.Thread(target=read_polls, name="poll-reader", daemon=True).start()
    for n in range(workers):
        threading.Thread(target=fetch_jobs, name=f"fetch-{n}", daemon=True).start()
    ended = 0
    try:
        while True:
            job, result, error = done.get()
            if job is _END:
                ended += 1
                if ended == workers:
                    return
                continue
            if job is None:
                raise result
            if error is not None:
                raise error
            hosts.taken()
            yield job, result
    finally:
        hosts.stop()


def _fetch_page(client, entry) -> Any:
    return client.fetch(entry.link, kind="page") if entry.link else None


class BatchWriter:
    """Saves items in batches (grouped by key) on one writer thread; see module doc. `put`
    is called from one producer thread (it fills the batch without a lock)."""

    def __init__(self, save: Callable[[dict[Hashable, list]], None], batch_size: int = 50,
                 backlog: int = 200) -> None:
        self.save, self.batch_size = save, max(batch_size, 1)
        self.queue: queue.Queue = queue.Queue(maxsize=max(backlog // self.batch_size, 1))
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._batch: list[tuple[Hashable, Any]] = []

    def __enter__(self) -> BatchWriter:
        self.thread.start()
        return self

    def put(self, key: Hashable, item: Any) -> None:
        self._raise()
        self._batch.append((key, item))
        if len(self._batch) >= self.batch_size:
            batch, self._batch = self._batch, []
            self.queue.put(batch)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self._batch:
            self.queue.put(self._batch)
        self._batch = []
        self.queue.put(_END)
        self.thread.join()
        if exc_type is None:
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _run(self) -> None:
        while (batch := self.queue.get()) is not _END:
            if self.error is not None:
                continue  # drain, so the producer never blocks on a dead writer
            groups: dict[Hashable, list] = {}
            for key, item in batch:
                groups.setdefault(key, []).append(item)
            self._save(groups)

    def _save(self, groups: dict[Hashable, list]) -> None:
        try:
            self.save(groups)
        except BaseException as exc:  # noqa: BLE001 - handed to the producer
            self.error = exc
