"""The equity tilt within a bound: the plan leans toward poorer areas only among plans whose
equity-neutral expected need is within a share of what the pools buy from the neutral optimum —
checked against brute force over every allocation of whole steps on a tiny district."""

from __future__ import annotations

import numpy as np
import pytest
from test_allocation_curves import tiny_needs
from test_allocation_steps import allocations

from models.allocation import (
    EQUITY_COST_SHARE,
    AllocationProblem,
    AllocationSettings,
    SolverOptions,
    equity_cost_share,
    optimise,
)
from models.allocation.comparison import EQUITY_0, compare_allocations
from models.needs import NeedScenarios

EXACT = SolverOptions(mip_rel_gap=0.0, time_limit_s=30)
POOLS = np.array([1.5, 1.0, 1.0])
COST = np.array([650_000.0, 780_000.0, 800_000.0])
#: a strong tilt toward the last kindergarten, so the bound has something to hold back
EQUITY = np.array([1.0, 1.0, 1.8])


def neutral_cost(problem: AllocationProblem, change: np.ndarray) -> float:
    """The plan's expected need with every kindergarten weighing the same."""
    scale = np.array([EQUITY[c.kindergarten] for c in problem.curves])
    return problem.need_cost(change, scale)


def solve(needs: NeedScenarios, share: float | None, equity: np.ndarray = EQUITY):
    return optimise(
        needs,
        pools_fte=POOLS,
        cost_per_fte_nok=COST,
        equity=equity,
        settings=AllocationSettings(equity_cost_share=share),
        options=EXACT,
    )


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("share", [0.0, 0.05, 0.3])
def test_the_bounded_tilt_is_the_best_tilted_plan_within_the_bound(seed: int, share: float):
    needs = tiny_needs(seed, n_k=3)
    problem, solution = solve(needs, share)
    assert problem.need_cap is not None
    candidates = allocations(problem)
    neutral = [neutral_cost(problem, c) for c in candidates]
    best_neutral = min(neutral)
    nothing = neutral_cost(problem, np.zeros_like(solution.change_fte))
    cap = best_neutral + share * (nothing - best_neutral)
    chosen = neutral_cost(problem, solution.change_fte)
    # within the bound …
    assert chosen <= cap + 1e-6 * max(abs(cap), 1.0)
    # … and no plan within it serves the tilted need better
    within = [c for c, v in zip(candidates, neutral, strict=True) if v <= cap + 1e-9]
    best_tilted = min(problem.need_cost(c) for c in within)
    assert problem.need_cost(solution.change_fte) <= best_tilted + 1e-6 * max(best_tilted, 1.0)


@pytest.mark.parametrize("seed", range(3))
def test_a_bound_of_nothing_keeps_the_neutral_optimum_and_no_bound_is_the_plain_tilt(seed: int):
    needs = tiny_needs(seed, n_k=3)
    problem, bounded = solve(needs, 0.0)
    candidates = allocations(problem)
    best_neutral = min(neutral_cost(problem, c) for c in candidates)
    assert neutral_cost(problem, bounded.change_fte) == pytest.approx(best_neutral, rel=1e-6)
    plain_problem, plain = solve(needs, None)
    assert plain_problem.need_cap is None
    best_tilted = min(plain_problem.need_cost(c) for c in candidates)
    assert plain_problem.need_cost(plain.change_fte) == pytest.approx(best_tilted, rel=1e-6)
    # here the plain tilt gives up neutral need (EQUITY is strong), which the bound holds back
    assert (
        neutral_cost(problem, bounded.change_fte)
        < neutral_cost(plain_problem, plain.change_fte) - 1.0
    )
    assert problem.need_cost(bounded.change_fte) >= plain_problem.need_cost(plain.change_fte) - (
        1e-6 * max(best_tilted, 1.0)
    )


def test_equity_cost_share_scales_with_the_knob_and_is_none_at_zero() -> None:
    assert equity_cost_share(0.0) is None
    assert equity_cost_share(1.0) == pytest.approx(EQUITY_COST_SHARE)
    assert equity_cost_share(2.0) == pytest.approx(2 * EQUITY_COST_SHARE)


def test_neutral_equity_solves_once_without_a_bound() -> None:
    needs = tiny_needs(0, n_k=3)
    problem, _ = solve(needs, 0.02, np.ones(3))
    assert problem.need_cap is None


def test_the_neutral_plan_serves_as_the_equity_0_comparison() -> None:
    """The bounded plan keeps the neutral plan it solved first; the comparisons show it as the
    plan at equity weight 0, and it is what a re-solve at equity 0 gives."""
    needs = tiny_needs(1, n_k=3)
    problem, solution = solve(needs, 0.003)
    _, resolved = solve(needs, 0.003, np.ones(3))
    assert problem.neutral_change_fte is not None
    assert np.array_equal(problem.neutral_change_fte, resolved.change_fte)
    compared = compare_allocations(
        needs,
        problem,
        solution.change_fte,
        settings=AllocationSettings(equity_cost_share=0.003),
        equity=EQUITY,
        children=np.array([30.0, 40.0, 35.0]),
        decisions=np.array([2.0, 3.0, 1.0]),
        options=EXACT,
    )
    assert np.array_equal(compared.changes[EQUITY_0], resolved.change_fte)
