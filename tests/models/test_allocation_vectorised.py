"""The allocation MILP's curve terms, the need cost and the greedy start computed for all curves
at once equal, bit for bit, the one-curve-at-a-time implementations they replaced (kept here
as oracles): the same model goes to HiGHS, so the same plan comes back."""

from __future__ import annotations

import heapq
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from data.contract import RESOURCES
from models.allocation.greedy import greedy_allocation
from models.allocation.milp import _build
from models.allocation.problem import AllocationProblem, ConvexCurve, NeedCap, convexify


def mixed_problem(seed: int, n_k: int = 12, *, capped: bool = False) -> AllocationProblem:
    """Three resources and three curves per kindergarten (staff + pedagogue, pedagogue,
    resource pedagogue) with grids that start below zero (moves), end in flat segments or have
    a single point, as the curves of a plan do."""
    rng = np.random.default_rng(seed)
    curves = []
    for k in range(n_k):
        for coef, dy in (((1.0, 1.0, 0.0), 0.5), ((0.0, 1.0, 0.0), 1.0), ((0.0, 0.0, 1.0), 0.5)):
            n = int(rng.integers(1, 15))
            slopes = np.sort(-rng.exponential(5.0, n - 1)) * (rng.uniform(size=n - 1) < 0.8)
            values = convexify(rng.uniform(5, 50) + np.concatenate([[0], np.cumsum(slopes * dy)]))
            y0 = -dy * float(rng.integers(0, 3))
            curves.append(ConvexCurve(k, coef, y0, dy, values))
    cap = NeedCap(scale=rng.uniform(1.0, 1.3, len(curves)), cap=100.0) if capped else None
    return AllocationProblem(
        kindergarten_ids=tuple(f"k{k}" for k in range(n_k)),
        resources=RESOURCES,
        step_fte=np.array([0.5, 1.0, 0.5]),
        cost_per_fte_nok=np.array([650_000.0, 780_000.0, 800_000.0]),
        curves=curves,
        pools_fte=np.array([4.0, 2.0, 3.0]),
        current_fte=np.full((n_k, 3), 3.0),
        need_cap=cap,
    )


def oracle_curve_terms(problem: AllocationProblem, first_col: int, step: np.ndarray):
    """The former loop: per curve its segment columns, then its row (dense), the constant."""
    cost: list[float] = []
    upper: list[float] = []
    rows: list[dict[int, float]] = []
    cap_row: dict[int, float] = {}
    constant = cap_constant = 0.0
    n_k, n_r = problem.n_kindergartens, problem.n_resources
    add = np.arange(n_k * n_r).reshape(n_k, n_r)
    rem = add + n_k * n_r
    for i, curve in enumerate(problem.curves):
        slopes = curve.slopes
        n_active = int(np.max(np.nonzero(slopes < -1e-12)[0], initial=-1)) + 1
        seg = first_col + len(cost) + np.arange(n_active)
        seg_cost = slopes[:n_active] * curve.dy
        cost += seg_cost.tolist()
        upper += [1.0] * n_active
        tail_slope = slopes[-1] if n_active == len(slopes) and len(slopes) else 0.0
        tail = first_col + len(cost)
        cost.append(float(tail_slope))
        upper.append(np.inf)
        constant += float(curve.values[0])
        if problem.need_cap is not None:
            scale = float(problem.need_cap.scale[i])
            for col, value in zip(
                [*seg, tail], np.append(seg_cost, tail_slope) / scale, strict=True
            ):
                cap_row[int(col)] = float(value)
            cap_constant += float(curve.values[0]) / scale
        row: dict[int, float] = {}
        for r in np.nonzero(np.asarray(curve.coefficients))[0]:
            row[int(add[curve.kindergarten, r])] = curve.coefficients[r] * step[r]
            row[int(rem[curve.kindergarten, r])] = -curve.coefficients[r] * step[r]
        for col in seg:
            row[int(col)] = -curve.dy
        row[tail] = -1.0
        rows.append(row)
    return cost, upper, rows, constant, cap_row, cap_constant


def dense_rows(model, n_rows: int, n_cols: int) -> np.ndarray:
    rows = np.concatenate([e[0] for e in model.entries])
    cols = np.concatenate([e[1] for e in model.entries])
    vals = np.concatenate([e[2] for e in model.entries])
    matrix = sp.coo_matrix((vals, (rows, cols)), shape=(len(model.rows_lower), n_cols))
    return matrix.toarray()[:n_rows]


@pytest.mark.parametrize("capped", [False, True], ids=["plain", "equity bound"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curve_columns_and_rows_equal_the_loop(seed: int, capped: bool) -> None:
    problem = mixed_problem(seed, capped=capped)
    n_k, n_r = problem.n_kindergartens, problem.n_resources
    for elastic in (False, True):
        built = _build(problem, elastic)
        model = built.model
        first = 2 * n_k * n_r
        cost, upper, rows, constant, cap_row, cap_constant = oracle_curve_terms(
            problem, first, problem.step_fte
        )
        all_cost = np.concatenate(model.cost)
        all_upper = np.concatenate(model.upper)
        np.testing.assert_array_equal(all_cost[first : first + len(cost)], cost)
        np.testing.assert_array_equal(all_upper[first : first + len(cost)], upper)
        assert built.constant == constant
        n_curves = len(problem.curves)
        got = dense_rows(model, n_curves + (1 if capped else 0), model.n_cols)
        for i, row in enumerate(rows):
            want = np.zeros(model.n_cols)
            want[list(row)] = list(row.values())
            np.testing.assert_array_equal(got[i], want)
            assert model.rows_lower[i] == model.rows_upper[i] == problem.curves[i].y0
        if capped:
            want = np.zeros(model.n_cols)
            want[list(cap_row)] = list(cap_row.values())
            np.testing.assert_array_equal(got[n_curves], want)
            assert problem.need_cap is not None
            cap = problem.need_cap.cap
            assert model.rows_upper[n_curves] == cap - cap_constant + 1e-9 * max(abs(cap), 1.0)


def oracle_need_cost(problem: AllocationProblem, change: np.ndarray, scale=None) -> float:
    total = 0.0
    for i, curve in enumerate(problem.curves):
        y = float(np.dot(curve.coefficients, change[curve.kindergarten]))
        total += float(curve(y)) / (1.0 if scale is None else float(scale[i]))
    return total


def oracle_greedy(problem: AllocationProblem, pools_fte: np.ndarray) -> np.ndarray:
    n_k, n_r = problem.n_kindergartens, problem.n_resources
    by_kindergarten: dict[int, list[ConvexCurve]] = {}
    for curve in problem.curves:
        by_kindergarten.setdefault(curve.kindergarten, []).append(curve)
    step = np.asarray(problem.step_fte, dtype=float)
    change = np.zeros((n_k, n_r))
    left = np.asarray(pools_fte, dtype=float).copy()

    def gain(k: int, r: int) -> float:
        total = 0.0
        for curve in by_kindergarten.get(k, []):
            coef = np.asarray(curve.coefficients)
            if coef[r] != 0:
                y = float(coef @ change[k])
                total += float(curve(y) - curve(y + coef[r] * step[r]))
        return total

    version = np.zeros((n_k, n_r), dtype=int)
    heap = [(-gain(k, r), k, r, 0) for k in range(n_k) for r in range(n_r)]
    heapq.heapify(heap)
    while heap:
        negative_gain, k, r, seen = heapq.heappop(heap)
        if seen != version[k, r] or -negative_gain <= 1e-12 or left[r] < step[r] - 1e-9:
            continue
        change[k, r] += step[r]
        left[r] -= step[r]
        for other in range(n_r):
            version[k, other] += 1
            heapq.heappush(heap, (-gain(k, other), k, other, int(version[k, other])))
    return change


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_need_cost_and_greedy_equal_the_loops(seed: int) -> None:
    problem = mixed_problem(seed, n_k=20)
    rng = np.random.default_rng(seed)
    for pools in (problem.pools_fte, np.array([10.0, 5.0, 8.0]), np.zeros(3)):
        greedy = greedy_allocation(problem, pools)
        np.testing.assert_array_equal(greedy, oracle_greedy(problem, pools))
    scale = rng.uniform(1.0, 1.3, len(problem.curves))
    for change in (
        np.zeros((20, 3)),
        greedy_allocation(problem, np.array([10.0, 5.0, 8.0])),
        rng.integers(-4, 12, (20, 3)) * problem.step_fte,
    ):
        assert problem.need_cost(change) == oracle_need_cost(problem, change)
        assert problem.need_cost(change, scale) == oracle_need_cost(problem, change, scale)


def test_the_curve_table_follows_new_curves() -> None:
    problem = mixed_problem(0)
    change = np.ones((12, 3))
    before = problem.need_cost(change)
    doubled = replace(problem, curves=[replace(c, values=2 * c.values) for c in problem.curves])
    assert doubled.need_cost(change) == pytest.approx(2 * before)
    problem.curves = doubled.curves
    assert problem.need_cost(change) == pytest.approx(2 * before)
