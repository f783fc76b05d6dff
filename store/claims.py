"""Claim tokens: who is sending an outbox row, and whether that process still runs.

A relay marks the rows it is about to send `sending` with a claim token and the time.
The token names the claiming process: host, PID namespace, PID and the process's start
time (Linux `/proc/<pid>/stat`), plus a random part. A later relay releases a claim
back to `pending` when its lease has run out, or at once when the token shows a process
of this very machine that is no longer running (killed, crashed, rebooted): the rows
it was sending may have arrived, so releasing them is logged as a possible redelivery.
A claimer it cannot check (another machine, no /proc) keeps its claim for the lease.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from pathlib import Path

CLAIM_LEASE = timedelta(minutes=10)


def new_claim_token() -> str:
    """`host|pidns|pid|start|random`: unique per claim, and says which process holds it."""
    return "|".join((socket.gethostname()[:60], _pid_namespace(), str(os.getpid()),
                     _start_time(os.getpid()) or "?", uuid.uuid4().hex[:12]))


def claimer_is_gone(token: str | None) -> bool:
    """True only when the token is from a process on this machine that no longer runs."""
    parts = (token or "").split("|")
    if len(parts) != 5 or "?" in parts[1:4]:
        return False
    host, namespace, pid, started, _ = parts
    if host != socket.gethostname()[:60] or namespace != _pid_namespace() or namespace == "?":
        return False
    return _start_time(int(pid)) != started  # None (no such process), a zombie, or a reused PID


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return "?"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot; None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after "pid (comm)": state is first, starttime 20th
    return None if fields[0] in ("Z", "X") else fields[19]
