"""A greedy allocation: one step at a time to the line whose next step avoids most weighted
unmet need. Optimal for a single resource with separable convex curves, close otherwise (staff
and pedagogues share a curve; pedagogues come in whole positions). The MILP starts from it, and
the benchmark uses it as a peer."""

from __future__ import annotations

import heapq

import numpy as np

from models.allocation.problem import AllocationProblem


def greedy_allocation(problem: AllocationProblem, pools_fte: np.ndarray) -> np.ndarray:
    """(K, R) FTE added, spending at most ``pools_fte`` (finite) in whole steps; ignores pins,
    budget and moves."""
    n_k, n_r = problem.n_kindergartens, problem.n_resources
    step = np.asarray(problem.step_fte, dtype=float)
    change = np.zeros((n_k, n_r))
    left = np.asarray(pools_fte, dtype=float).copy()
    if not problem.curves:
        return change
    table = problem.curve_table
    curves_of: dict[int, list[int]] = {}
    for i, k in enumerate(table.kindergarten.tolist()):
        curves_of.setdefault(k, []).append(i)
    # every line's first step at once (the heap's start: 2,100 lines at a city); after each step
    # only the stepped kindergarten's lines are evaluated again
    first = table.gains(change, step)
    version = np.zeros((n_k, n_r), dtype=int)
    heap = [(-float(first[k, r]), k, r, 0) for k in range(n_k) for r in range(n_r)]
    heapq.heapify(heap)
    while heap:
        negative_gain, k, r, seen = heapq.heappop(heap)
        if seen != version[k, r] or -negative_gain <= 1e-12 or left[r] < step[r] - 1e-9:
            continue
        change[k, r] += step[r]
        left[r] -= step[r]
        mine = curves_of.get(k)
        gains = table.gains(change, step, np.asarray(mine)) if mine else np.zeros_like(change)
        for other in range(n_r):  # this kindergarten's curves moved: refresh its lines
            version[k, other] += 1
            heapq.heappush(heap, (-float(gains[k, other]), k, other, int(version[k, other])))
    return change
