"""Hireable steps: the default steps are what a district can hire (staff and resource
pedagogues in half positions, pedagogues whole), and the optimiser gives out nothing else —
checked against brute force over every allocation of whole steps on a tiny problem."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_allocation_curves import tiny_needs

from models.allocation import (
    DEFAULT_STEP_FTE,
    AllocationProblem,
    AllocationSettings,
    SolverOptions,
    optimise,
)

EXACT = SolverOptions(mip_rel_gap=0.0, time_limit_s=30)


def objective(problem: AllocationProblem, change: np.ndarray) -> float:
    """The MILP's objective without its index tie-break: need, money and churn."""
    money = float((change.sum(axis=0) * problem.cost_per_fte_nok).sum())
    return (
        problem.need_cost(change)
        + problem.cost_weight_per_nok * money
        + problem.churn_weight * float(np.abs(change).sum())
    )


def allocations(problem: AllocationProblem) -> list[np.ndarray]:
    """Every allocation (K×R FTE) of whole steps within the pools."""
    n_k = problem.n_kindergartens
    per_resource = []
    for r in range(problem.n_resources):
        total = int(np.floor(problem.pools_fte[r] / problem.step_fte[r] + 1e-9))
        per_resource.append(
            [c for c in itertools.product(range(total + 1), repeat=n_k) if sum(c) <= total]
        )
    return [
        np.array(combo, dtype=float).T * problem.step_fte
        for combo in itertools.product(*per_resource)
    ]


def brute_force(problem: AllocationProblem) -> tuple[float, np.ndarray]:
    """Every allocation of whole steps within the pools; the best objective."""
    best, best_change = np.inf, np.zeros((problem.n_kindergartens, problem.n_resources))
    for change in allocations(problem):
        value = objective(problem, change)
        if value < best - 1e-12:
            best, best_change = value, change
    return best, best_change


def test_the_default_steps_are_what_a_district_can_hire() -> None:
    assert DEFAULT_STEP_FTE == (0.5, 1.0, 0.5)
    assert AllocationSettings().step_fte == DEFAULT_STEP_FTE


@pytest.mark.parametrize("seed", range(4))
def test_the_milp_gives_whole_steps_and_matches_brute_force(seed: int) -> None:
    needs = tiny_needs(seed, n_k=2)
    # pools that are not whole steps: 1.2 staff buys two half positions, 0.7 one half position
    problem, solution = optimise(
        needs,
        pools_fte=np.array([1.2, 2.0, 0.7]),
        cost_per_fte_nok=np.array([650_000.0, 780_000.0, 800_000.0]),
        equity=np.ones(2),
        settings=AllocationSettings(),
        options=EXACT,
    )
    steps = np.asarray(DEFAULT_STEP_FTE)
    assert np.array_equal(problem.step_fte, steps)
    multiples = solution.change_fte / steps
    assert np.allclose(multiples, np.round(multiples))
    assert (solution.change_fte.sum(axis=0) <= problem.pools_fte + 1e-9).all()
    best, best_change = brute_force(problem)
    assert objective(problem, solution.change_fte) == pytest.approx(best, abs=1e-6)
    assert problem.need_cost(solution.change_fte) == pytest.approx(
        problem.need_cost(best_change), abs=1e-6
    )
