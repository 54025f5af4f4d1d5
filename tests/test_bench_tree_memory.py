"""bench_scale's memory of a step that forks workers: the tree's summed PSS, not the largest
process's maximum RSS alone."""

from __future__ import annotations

import sys

import pytest

from benchmarks.bench_scale import run_measured

#: a parent holding 80 MB that forks two workers holding 60 MB each of their own for 2 s
FORKING = """
import multiprocessing, time
import numpy as np
held = np.ones(10_000_000)
def work(i):
    mine = np.ones(7_500_000)
    time.sleep(2)
    return int(mine[0])
if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(pool.map(work, [1, 2]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PSS is read from /proc")
def test_a_forking_step_is_measured_by_its_whole_tree():
    measured = run_measured([sys.executable, "-c", FORKING], {})
    assert measured.code == 0, measured.tail
    mib = measured.peak_gib * 1024
    # 80 MB in the parent and 2 × 60 MB in the workers at once (plus Python and NumPy each);
    # the largest process alone would be about 110 MB
    assert mib > (80 + 2 * 60) / 1.048576, mib
