"""Killable worker processes for CPU work that may run away (feed parsing, extraction).

Contract:
  * `Worker` is one child process (`python -m extractors.workers`) that runs
    module-level functions sent to it as length-prefixed pickles over its stdin; it
    can be killed at any moment, and its address space is capped (RLIMIT_AS) so a
    runaway parse ends in MemoryError instead of swapping the host.
  * `run_with_budget(func, args, budget)` runs one call in a pooled worker and returns
    its result, or a `Failure` (error_class e.g. "parse_timeout" / "parse_crashed")
    when the worker had to be killed or died. Thread-safe.
  * `shared_pool().lend(wait)` / `.give(worker)` let another pool (the extraction pool)
    borrow the warm idle workers, so a pass starts no second set of processes; `wait`
    lets the borrower wait for a worker that is finishing a call (a feed's parse takes
    milliseconds; starting a process and importing trafilatura takes 0.2-0.3 s).
Children are started with subprocess, not multiprocessing, so they never re-import the
caller's __main__ (a Prefect flow script or a REPL) and are safe to start from threads.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable

DEFAULT_MEMORY_LIMIT = 2 * 1024**3
STARTUP_SECONDS = 60.0
PRELOAD = ("extractors.feeds", "extractors.articles")
HEADER = struct.Struct("!Q")


@dataclass
class Failure:
    """A call that produced no result; `error_class` is stored like any other error."""

    error_class: str
    message: str

    def __str__(self) -> str:
        return self.message


def send_frame(stream: BinaryIO, obj: Any) -> None:
    write_frame(stream, encode_frame(obj))


def encode_frame(obj: Any) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def encode_call(func: Callable[..., Any], args: tuple) -> bytes:
    """A call as it travels to a worker, ready for `Worker.submit_encoded`."""
    return encode_frame((func, args))


def write_frame(stream: BinaryIO, frame: bytes) -> None:
    view = memoryview(frame)
    while view:
        written = stream.write(view)
        view = view[written if written is not None else len(view):]
    stream.flush()


def read_frame(stream: BinaryIO) -> Any:
    header = read_exactly(stream, HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError("worker pipe closed")
    (size,) = HEADER.unpack(header)
    payload = read_exactly(stream, size)
    if len(payload) < size:
        raise EOFError("worker pipe closed mid-frame")
    return pickle.loads(payload)


def read_exactly(stream: BinaryIO, size: int) -> bytes:
    """`size` bytes, fewer only at end of file. The parent reads its workers' replies
    unbuffered: a buffered reader could swallow a second reply that `wait()` on the pipe
    would then never announce."""
    chunks, wanted = [], size
    while wanted:
        chunk = stream.read(wanted)
        if not chunk:
            break
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def serve_calls(inbox: BinaryIO, outbox: BinaryIO, memory_limit: int | None) -> None:
    """Child main loop: receive (func, args), send ("ok", result) or ("error", message)."""
    limit_memory(memory_limit)
    for module in PRELOAD:
        __import__(module)
    send_frame(outbox, ("ready", None))
    while True:
        try:
            message = read_frame(inbox)
        except (EOFError, OSError):
            return
        if message is None:
            return
        func, args = message
        try:
            reply = ("ok", func(*args))
        except MemoryError:
            reply = ("memory", "worker ran out of its memory allowance")
        except Exception as exc:  # noqa: BLE001 - report, keep serving
            reply = ("error", f"{type(exc).__name__}: {exc}")
        send_frame(outbox, reply)


def limit_memory(limit: int | None) -> None:
    if not limit:
        return
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def child_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


PIPE_BYTES = 1 << 20  # Linux allows 1 MiB per pipe to anyone by default (fs.pipe-max-size)


def widen_pipes(*streams: BinaryIO) -> int:
    """Grow the pipes to PIPE_BYTES where the OS lets us; the smallest resulting capacity.
    Room for a queued page in the request pipe, and for a big result in the reply pipe, so
    neither side blocks while the other is busy."""
    capacity = PIPE_BYTES
    for stream in streams:
        try:
            import fcntl

            fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            capacity = min(capacity, fcntl.fcntl(stream.fileno(), fcntl.F_GETPIPE_SZ))
        except (ImportError, AttributeError, OSError):
            capacity = min(capacity, 65536)
    return capacity


class Worker:
    """One killable child process; not thread-safe (one caller at a time)."""

    def __init__(self, memory_limit: int | None = DEFAULT_MEMORY_LIMIT) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "extractors.workers", str(memory_limit or 0)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # raw pipes: see read_exactly
            env=child_environment(),
        )
        self.tasks_done = 0
        self.started = False
        self.pipe_capacity = widen_pipes(self.process.stdin, self.process.stdout)

    def wait_started(self, timeout: float = STARTUP_SECONDS) -> bool:
        """Wait for the child's "ready" frame, so its start-up is not billed to a task."""
        if not self.started and self.ready(timeout):
            self.started = self.receive()[0] == "ready"
            self.tasks_done = 0
        return self.started

    @property
    def conn(self) -> BinaryIO:
        """The readable end, for `multiprocessing.connection.wait`."""
        return self.process.stdout

    def submit(self, func: Callable[..., Any], args: tuple) -> None:
        """Send one call; a dead child shows up as "crashed" on `receive`."""
        self.submit_encoded(encode_call(func, args))

    def submit_encoded(self, frame: bytes) -> None:
        """Send a call made by `encode_call`. Calls queue in the pipe and run in order."""
        try:
            write_frame(self.process.stdin, frame)
        except (OSError, ValueError):
            self.kill()

    def ready(self, timeout: float | None) -> bool:
        """A reply (or the child's end) is waiting; True at once for a worker already killed."""
        from multiprocessing.connection import wait

        return self.closed or bool(wait([self.process.stdout], timeout))

    @property
    def closed(self) -> bool:
        """Killed (a send to the dead child failed, or a caller killed it): `receive` says crashed."""
        return self.process.stdout.closed

    def receive(self) -> tuple[str, Any]:
        """("ok", result) / ("error", msg) / ("memory", msg); ("crashed", msg) if the child died."""
        try:
            reply = read_frame(self.process.stdout)
        except (EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:  # ValueError: closed by kill()
            return "crashed", f"worker died: {type(exc).__name__} (exit code {self.process.poll()})"
        self.tasks_done += 1
        return reply

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def stop(self) -> None:
        try:
            send_frame(self.process.stdin, None)
            self.process.wait(timeout=2)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        self.kill()


class WorkerPool:
    """A small set of idle workers shared by threads; a killed worker is replaced lazily.

    Workers lent out (to the extraction pool) still count against the pool's size: while
    one is lent, at most `size - lent` calls run at once (at least one), and a call beyond
    waits for a running one to end rather than start a process. On a pass with new
    articles the extraction pool borrows the warm workers while the last feeds are still
    being parsed; starting a process for each of those parses cost 0.18 s of CPU apiece,
    for processes that sat idle once the polls were done."""

    def __init__(self, size: int, memory_limit: int | None = DEFAULT_MEMORY_LIMIT) -> None:
        self.size = size
        self.memory_limit = memory_limit
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._cond = threading.Condition()
        self._busy = 0  # calls running now; each gives its worker back (or kills it) when done
        self._queued = 0  # calls waiting for room; while there are any, nothing is lent
        self._lent: set[Worker] = set()

    def run(self, func: Callable[..., Any], args: tuple, budget: float, names: tuple[str, str]) -> Any:
        with self._cond:
            self._queued += 1
            while self._busy >= self._room():
                self._cond.wait()
            self._queued -= 1
            self._busy += 1
        try:
            return self._run_one(func, args, budget, names)
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify()

    def _room(self) -> int:
        """Calls that may run at once: the size less the lent workers still alive (a
        borrower that killed one never gives it back), but at least one, so a call never
        waits on a borrower."""
        self._lent = {worker for worker in self._lent if worker.alive()}
        return max(1, self.size - len(self._lent))

    def _run_one(self, func: Callable[..., Any], args: tuple, budget: float, names: tuple[str, str]) -> Any:
        worker = self._take()
        if not worker.wait_started():
            worker.kill()
            return Failure(names[1], "worker process did not start")
        worker.submit(func, args)
        if not worker.ready(budget):
            worker.kill()
            return Failure(names[0], f"gave up after {budget:g} s; the worker was killed")
        status, value = worker.receive()
        if status == "ok":
            self._idle.put(worker)
            return value
        worker.kill()
        return Failure(names[1], str(value))

    def _take(self) -> Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return Worker(self.memory_limit)
            if worker.alive():
                return worker
            worker.kill()

    @property
    def busy(self) -> int:
        """Calls running now (their workers come back to the idle set when they end)."""
        return self._busy

    def lend(self, wait: float = 0.0) -> Worker | None:
        """An idle live worker (already started: no start-up to wait for), or None; never
        while calls are waiting for room (they come first). With `wait`, while a call is
        running in one of this pool's workers, wait up to that long for the worker to come
        back instead of answering None."""
        deadline = time.monotonic() + wait
        while True:
            worker = self._lend_idle()
            if worker is not None:
                return worker
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._busy:
                return None
            time.sleep(min(remaining, 0.005))  # a short wait, then _busy again: a killed worker never comes back

    def _lend_idle(self) -> Worker | None:
        with self._cond:
            while not self._queued:
                try:
                    worker = self._idle.get_nowait()
                except queue.Empty:
                    return None
                if worker.alive():
                    self._lent.add(worker)
                    return worker
                worker.kill()
            return None

    def give(self, worker: Worker) -> None:
        """Take a lent (or any healthy) worker back; one beyond the pool's size is stopped
        on a thread of its own: a child's exit takes ~0.1 s, which the end of a pass need
        not wait for."""
        with self._cond:
            self._lent.discard(worker)
            keep = worker.alive() and self._idle.qsize() < self.size
            if keep:
                self._idle.put(worker)
            self._cond.notify()
        if not keep:
            _stop_in_background(worker)

    def stop_idle(self, keep: int) -> None:
        """Stop the idle workers beyond `keep` (in the background: see `_stop_in_background`)."""
        spare = []
        with self._cond:
            while self._idle.qsize() > keep:
                try:
                    spare.append(self._idle.get_nowait())
                except queue.Empty:  # a call took one meanwhile (calls take idle workers without the lock)
                    break
        for worker in spare:
            _stop_in_background(worker)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return


def _stop_in_background(worker: Worker) -> None:
    """Stop `worker` on a thread of its own: a child's exit takes ~0.1 s, which a pass need not wait for."""
    threading.Thread(target=worker.stop, name="worker-stop", daemon=True).start()


_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> WorkerPool:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = WorkerPool(size=max(os.cpu_count() or 1, 2))
        return _shared


def run_with_budget(
    func: Callable[..., Any],
    args: tuple,
    budget: float,
    names: tuple[str, str] = ("parse_timeout", "parse_crashed"),
) -> Any:
    return shared_pool().run(func, args, budget, names)


def main() -> None:
    """Child entry point: frames go to the real stdout; stray prints go to stderr."""
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve_calls(sys.stdin.buffer, outbox, int(sys.argv[1]) or None)


if __name__ == "__main__":
    main()
