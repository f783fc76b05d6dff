"""Worker processes for the CPU work of a pass that may run away: feed parsing, page extraction.

Contract:
    with WorkerPool(size=None, memory_limit_mb=2048, max_tasks=2000) as pool:
        pool.run(func, args, budget, errors=(ParseTimeout, ParseCrashed))  -> func(*args), or raises
        pool.submit(func, args, budget, errors)                            -> Future of the same
`func` is a module-level function (it is pickled to the worker). A call over its `budget`
(counted from the moment a worker starts it) has its worker killed and raises the first of
`errors`; a worker that died (its memory cap, a segfault) or a call that raised raises the
second, with what happened as its message. Either way the pool goes on with a new worker.

Built on pebble's ProcessPool, which kills a hung worker (the standard library's pool
cannot), restarts workers after `max_tasks` calls (a guard against slow leaks), and runs an
initializer in each worker: here it caps the worker's address space (RLIMIT_AS, so a runaway
parse ends in MemoryError instead of swapping the host) and imports the extractors, so a
worker's start-up is not billed to its first call. Workers are started with `spawn`: a fork
of the pass process (Prefect, httpx and their threads) would copy its memory and locks into
every worker. A pass opens one pool and closes it at its end; nothing outlives the pass.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pebble import ProcessPool

from extractors.errors import WorkFailed
from extractors.process_memory import tune_malloc

PRELOAD = ("extractors.feeds", "extractors.articles", "trafilatura")
Errors = tuple[type[WorkFailed], type[WorkFailed]]


def start_worker(memory_limit: int) -> None:
    """Each worker's initializer: end at once on SIGTERM, tune malloc, cap its memory, import
    what its calls need. A call stuck in C code (feedparser's regular expressions) never runs a
    Python signal handler, so the pool's stop would wait out its grace period before SIGKILL;
    pebble holds the channel's locks while it stops a worker, so an abrupt end leaves none held."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    tune_malloc()
    if memory_limit:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    for module in PRELOAD:
        __import__(module)


class WorkerPool:
    """Killable worker processes with a time budget per call; see the module's contract."""

    def __init__(self, size: int | None = None, memory_limit_mb: int = 2048, max_tasks: int = 2000) -> None:
        self.size = max(size or os.cpu_count() or 1, 1)
        self._waiting: set[Future] = set()  # calls without a result yet
        self._broken: str | None = None  # why no worker can start (then every call fails at once)
        self._lock = threading.Lock()
        self._pool = ProcessPool(max_workers=self.size, max_tasks=max_tasks, initializer=start_worker,
                                 initargs=(memory_limit_mb * 1024 * 1024,),
                                 context=multiprocessing.get_context("spawn"))

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker now: a pass that ends has no call left worth waiting for."""
        self._pool.stop()
        self._pool.join()

    def submit(self, func: Callable[..., Any], args: tuple, budget: float, errors: Errors) -> Future:
        """A future of `func(*args)`, whose failures are `errors` (see the module's contract)."""
        outcome: Future = Future()
        with self._lock:
            if self._broken is None:
                try:
                    work = self._pool.schedule(func, args, timeout=budget)
                except RuntimeError as exc:  # the pool broke between two calls
                    self._broken = str(exc)
            if self._broken is not None:
                outcome.set_exception(errors[1](f"no worker process could start: {self._broken}"))
                return outcome
            self._waiting.add(outcome)
        work.add_done_callback(lambda done: self._settle(done, outcome, errors))
        return outcome

    def run(self, func: Callable[..., Any], args: tuple, budget: float, errors: Errors) -> Any:
        return self.submit(func, args, budget, errors).result()

    def _settle(self, work: Future, outcome: Future, errors: Errors) -> None:
        """Copy `work`'s result to `outcome`, its failure as one of `errors`. When no worker can
        start (pebble then drops the calls not yet handed to a worker), every waiting call fails."""
        try:
            result = work.result()
        except WorkFailed as exc:  # the call's own verdict (an empty page)
            failure: BaseException | None = exc
        except TimeoutError as exc:
            failure = errors[0](f"gave up after {exc.args[1] if len(exc.args) > 1 else '?'} s; the worker was killed")
        except BrokenProcessPool as exc:
            failure = errors[1](f"no worker process could start: {exc}")
            self._fail_waiting(str(exc), errors)
        except BaseException as exc:  # noqa: BLE001 - a died worker or a failed call: reported, never raised
            failure = errors[1](f"{type(exc).__name__}: {exc}")
        else:
            failure = None
        with self._lock:
            self._waiting.discard(outcome)
            if outcome.done():  # already failed by _fail_waiting, when no worker could start
                return
        outcome.set_exception(failure) if failure is not None else outcome.set_result(result)

    def _fail_waiting(self, reason: str, errors: Errors) -> None:
        with self._lock:
            self._broken, waiting, self._waiting = reason, self._waiting, set()
        for outcome in waiting:
            if not outcome.done():
                outcome.set_exception(errors[1](f"no worker process could start: {reason}"))
