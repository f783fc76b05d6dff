"""Keep a pass's processes close to the memory they use: pages pass through them by the thousand.

Contract:
    tune_malloc() -> bool
sets glibc's malloc, once per process, to at most ARENAS arenas and to give blocks of
LARGE_BLOCK bytes or more straight back to the system; True when it applied (glibc), False
elsewhere (musl, macOS), where nothing changes. The pass process calls it before its
threads start, each extraction worker in its initializer.

Why: glibc gives every thread that allocates at the same moment as another an arena of its
own, up to eight per core, and returns to the system only the top of each. A pass's fetch
and poll threads each hold pages of 100-500 KB for a moment, so every arena kept the
high-water mark of the pages that went through it, and the pass process ended tens of MB
above what it held (`bench/pipeline.py` prints each process's share of the peak). Two
arenas are plenty for threads that mostly wait on the network, and a page in a mapping of
its own is returned the moment it is freed. This is glibc's documented tuning interface,
mallopt(3): the knobs of the MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_ environment
variables, which cannot be set from inside a process that is already running.
"""

from __future__ import annotations

import ctypes
import functools
import platform

ARENAS = 2
LARGE_BLOCK = 128 * 1024
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's <malloc.h>


@functools.cache
def tune_malloc() -> bool:
    if platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(option, value) == 1 for option, value in (
        (M_ARENA_MAX, ARENAS), (M_MMAP_THRESHOLD, LARGE_BLOCK), (M_TRIM_THRESHOLD, LARGE_BLOCK)))
