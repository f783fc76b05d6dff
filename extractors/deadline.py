"""A per-thread total deadline that every socket operation of a fetch respects.

Contract: inside `deadline_scope(seconds)`, `clamp_timeout(t)` returns the smaller of
`t` and the time left, and raises `DeadlineExceeded` once the time is used up. The
transport calls it before each connect, read and write, so a server that drips one
byte at a time cannot stretch a request beyond its budget. Outside a scope it is a
no-op. Thread-local, so concurrent fetches on one client do not share deadlines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from extractors.errors import DeadlineExceeded

_state = threading.local()


@contextmanager
def deadline_scope(seconds: float) -> Iterator[None]:
    previous = getattr(_state, "deadline", None)
    _state.deadline = time.monotonic() + seconds
    _state.budget = seconds
    try:
        yield
    finally:
        _state.deadline = previous


def time_left() -> float | None:
    """Seconds left in the current scope (may be negative), or None outside a scope."""
    deadline = getattr(_state, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


def check_deadline() -> None:
    left = time_left()
    if left is not None and left <= 0:
        raise DeadlineExceeded(f"request took longer than its {_state.budget:g} s budget")


def clamp_timeout(timeout: float | None) -> float | None:
    """`timeout` shortened to the time left; raises DeadlineExceeded when none is left."""
    check_deadline()
    left = time_left()
    if left is None:
        return timeout
    return left if timeout is None else min(timeout, left)
