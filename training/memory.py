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
#: Arrays from this size get pages of their own, returned to the system when freed; smaller
#: ones come from the heap, trimmed after each fold. 8 MiB rather than 1 MiB: from 1 MiB every
#: array of a nation's kindergarten × month grid (5.7 MB) got fresh pages the kernel zeroed, a
#: third of a nation fold's CPU in system time; at 32 MiB a city's calibration features (30 MB)
#: left holes in the heap and its train went over 1 GiB. Measured 2026-12-07
#: (benchmarks/README.md): one nation backtest fold 45.7 + 24.5 s (user + system) at 1 MiB
#: (before the calibration sample), 28.5 + 8.7 s at 8 MiB and 27.8 + 4.5 s at 32 MiB (after it),
#: peak 1.80 GiB at both; a city train of 12 origins 126.7 + 14.7 s and peak 0.93 GiB at 8 MiB,
#: 125.7 + 12.1 s and 1.02 GiB at 32 MiB.
MMAP_THRESHOLD_BYTES = 8 << 20
#: malloc arenas: one per core of the machine the goals are set for
ARENA_MAX = 2


@functools.cache
def bound_heap() -> None:
    """Keep the heap from holding what was freed, for the rest of the process (glibc only).

    By default glibc raises its mmap threshold to the size of every large block freed (up to
    32 MiB), so after the first fold the arrays of features and forecasts come from the heap and
    leave holes there; and each thread that allocates may get an arena of its own. A fixed
    threshold of :data:`MMAP_THRESHOLD_BYTES` and at most :data:`ARENA_MAX` arenas (profiled on
    the city with a 1 MiB threshold, a backtest fold ended at 0.38 GiB instead of 0.47 GiB;
    the threshold itself is chosen for CPU, see there)."""
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
