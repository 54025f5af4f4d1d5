"""Freed memory goes back to the operating system: a heap with every other block freed holds
its pages until the trim, and gives most of them back after it (glibc)."""

from __future__ import annotations

import os
import sys

import pytest

from training.memory import release_freed_memory


def _resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_release_gives_freed_heap_pages_back() -> None:
    # 64 KiB blocks come from the heap (below malloc's mmap threshold); every other one freed
    # leaves holes nothing can return but a trim
    kept, freed = [], []
    for i in range(4000):
        (kept if i % 2 else freed).append(bytearray(b"x" * 64 * 1024))
    del freed
    held = _resident_mib()
    release_freed_memory()
    assert held - _resident_mib() > 60  # of the 125 MiB freed
    assert len(kept) == 2000
