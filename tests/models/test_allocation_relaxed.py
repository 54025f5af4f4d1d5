"""Re-solves changed in place (the pools' marginal values) equal the model rebuilt afresh."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.allocation import PinIndex, solve_allocation
from models.allocation.milp import solve_relaxed
from models.allocation.report import pool_marginal_values
from tests.models.test_allocation_milp import EXACT, random_problem


def relaxations_of(problem):
    out = []
    for r in range(problem.n_resources):
        pools = problem.pools_fte.copy()
        pools[r] += 1.0
        out.append((pools, problem.budget_nok))
    if problem.budget_nok is not None:
        out.append((problem.pools_fte, problem.budget_nok + 1e6))
    return out


def variants(seed: int):
    plain = random_problem(seed, pools=(1.0, 2.0), n_k=8)
    budgeted = replace(random_problem(seed, pools=(3.0, 4.0), n_k=8), budget_nok=2_500_000.0)
    moves = replace(random_problem(seed, pools=(0.4, 1.0), n_k=8), max_moves=2)
    pinned = replace(
        random_problem(seed, pools=(1.0, 2.0), n_k=8),
        pins=[PinIndex(0, 1, "fix", 1.0), PinIndex(2, 0, "ban", 0.0), PinIndex(3, 0, "floor", 0.4)],
    )
    return [plain, budgeted, moves, pinned]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_relaxed_in_place_equals_rebuilt(seed: int) -> None:
    for problem in variants(seed):
        solution = solve_allocation(problem, EXACT)
        relaxations = relaxations_of(problem)
        in_place = solve_relaxed(problem, solution, relaxations, EXACT)
        for (pools, budget), got in zip(relaxations, in_place, strict=True):
            rebuilt = solve_allocation(replace(problem, pools_fte=pools, budget_nok=budget), EXACT)
            assert got.need_cost == pytest.approx(rebuilt.need_cost, rel=1e-9, abs=1e-9)
            assert got.objective == pytest.approx(rebuilt.objective, rel=1e-9, abs=1e-9)
            assert np.all(got.pool_used_fte <= pools + 1e-9)
            assert got.need_cost <= solution.need_cost + 1e-9


def test_pool_marginal_values_are_the_rebuilt_differences() -> None:
    problem = replace(random_problem(4, pools=(1.0, 2.0), n_k=8), budget_nok=3_000_000.0)
    solution = solve_allocation(problem, EXACT)
    values = pool_marginal_values(problem, solution, EXACT)
    expected = {}
    for name, (pools, budget) in zip(
        [*problem.resources, "budget_per_million_nok"], relaxations_of(problem), strict=True
    ):
        more = solve_allocation(replace(problem, pools_fte=pools, budget_nok=budget), EXACT)
        expected[name] = round(max(solution.need_cost - more.need_cost, 0.0), 4)
    assert values == pytest.approx(expected)
    assert any(v > 0 for v in values.values())
