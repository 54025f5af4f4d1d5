"""Freed memory handed back to the operating system between the big steps of training.

glibc keeps the memory Python, NumPy, pandas and LightGBM free for its own reuse, spread over
the arenas of the threads that fitted the targets. A backtest refits the whole pipeline at each
origin, so every fold left some tens of megabytes held but unused: profiled on the city preset
(700 kindergartens), the train process grew from 0.6 to 1.0 GiB over its 12 origins while what
it kept (the folds' forecasts) grew by a few tens of megabytes. ``malloc_trim`` returns the free
pages (a fold's 0.47 GiB became 0.36 GiB in that profile). Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


#: glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
#: arrays from this size get pages of their own, returned to the system when freed
MMAP_THRESHOLD_BYTES = 1 << 20
#: malloc arenas: one per core of the machine the goals are set for
ARENA_MAX = 2


@functools.cache
def bound_heap() -> None:
    """Keep the heap from holding what was freed, for the rest of the process (glibc only).

    By default glibc raises its mmap threshold to the size of every large block freed (up to
    32 MiB), so after the first fold the arrays of features and forecasts come from the heap and
    leave holes there; and each thread that allocates may get an arena of its own. A fixed
    threshold of :data:`MMAP_THRESHOLD_BYTES` and at most :data:`ARENA_MAX` arenas: profiled on
    the city, a backtest fold ended at 0.38 GiB instead of 0.47 GiB."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    mallopt(_M_ARENA_MAX, ARENA_MAX)


def release_freed_memory() -> None:
    """Give the pages malloc holds free back to the operating system (glibc only)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
