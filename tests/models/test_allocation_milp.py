"""The MILP against brute force on tiny instances, and its rules: pools, budget, pins, moves."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from models.allocation import (
    AllocationProblem,
    ConvexCurve,
    PinIndex,
    SolverOptions,
    convexify,
    solve_allocation,
)

EXACT = SolverOptions(mip_rel_gap=0.0, time_limit_s=30)
RESOURCES = ("staff", "pedagogue")


def random_problem(seed: int, *, pools=(0.6, 2.0), n_k: int = 3) -> AllocationProblem:
    """3 kindergartens, staff in 0.2-FTE steps and pedagogues in whole positions; each
    kindergarten has a staff curve (staff + pedagogues count) and a pedagogue curve."""
    rng = np.random.default_rng(seed)
    curves = []
    for k in range(n_k):
        for coef, dy in (((1.0, 1.0), 0.2), ((0.0, 1.0), 1.0)):
            n = int(rng.integers(3, 25))
            slopes = np.sort(-rng.exponential(5.0, n - 1))
            values = convexify(rng.uniform(5, 50) + np.concatenate([[0], np.cumsum(slopes * dy)]))
            values = np.maximum(values, values[-1])
            curves.append(ConvexCurve(k, coef, 0.0, dy, values))
    return AllocationProblem(
        kindergarten_ids=tuple(f"k{k}" for k in range(n_k)),
        resources=RESOURCES,
        step_fte=np.array([0.2, 1.0]),
        cost_per_fte_nok=np.array([650_000.0, 780_000.0]),
        curves=curves,
        pools_fte=np.array(pools),
        current_fte=np.full((n_k, 2), 5.0),
        churn_weight=0.0,
        cost_weight_per_nok=0.0,
    )


def brute_force(problem: AllocationProblem, budget: float | None = None):
    """Every allocation of whole steps within the pools (and budget); the best need cost."""
    n_k = problem.n_kindergartens
    per_resource = []
    for r in range(problem.n_resources):
        total = round(problem.pools_fte[r] / problem.step_fte[r])
        options = [c for c in itertools.product(range(total + 1), repeat=n_k) if sum(c) <= total]
        per_resource.append(options)
    best, best_change = np.inf, None
    for combo in itertools.product(*per_resource):
        change = np.array(combo, dtype=float).T * problem.step_fte
        if budget is not None and (change.sum(axis=0) * problem.cost_per_fte_nok).sum() > budget:
            continue
        cost = problem.need_cost(change)
        if cost < best - 1e-9:
            best, best_change = cost, change
    return best, best_change


@pytest.mark.parametrize("seed", range(6))
def test_milp_matches_brute_force(seed: int) -> None:
    problem = random_problem(seed)
    best, best_change = brute_force(problem)
    solution = solve_allocation(problem, EXACT)
    assert solution.status == "Optimal"
    assert solution.need_cost == pytest.approx(best, abs=1e-6)
    assert np.allclose(solution.change_fte, best_change)


@pytest.mark.parametrize("seed", range(3))
def test_milp_matches_brute_force_under_a_budget(seed: int) -> None:
    problem = random_problem(seed, pools=(1.0, 2.0))
    budget = 1_500_000.0
    problem.budget_nok = budget
    best, _ = brute_force(problem, budget)
    solution = solve_allocation(problem, EXACT)
    spent = (solution.change_fte.sum(axis=0) * problem.cost_per_fte_nok).sum()
    assert spent <= budget
    assert solution.need_cost == pytest.approx(best, abs=1e-6)


def test_pools_are_never_exceeded_and_a_useful_pool_is_spent() -> None:
    problem = random_problem(1, pools=(1.0, 2.0))
    solution = solve_allocation(problem, EXACT)
    used = solution.change_fte.sum(axis=0)
    assert (used <= problem.pools_fte + 1e-9).all()
    # every curve still falls at zero extra supply, so an unspent step would be wasted
    assert used == pytest.approx(problem.pools_fte)


def test_pins_fix_floor_and_ban_are_respected_exactly() -> None:
    problem = random_problem(2, pools=(1.0, 2.0))
    free = solve_allocation(problem, EXACT).change_fte
    # pin against the free plan: ban where it gave most staff, fix elsewhere, floor a third
    k_ban = int(np.argmax(free[:, 0]))
    k_fix, k_floor = [k for k in range(3) if k != k_ban][:2]
    problem.pins = (
        PinIndex(k_ban, 0, "ban"),
        PinIndex(k_fix, 0, "fix", 0.4),
        PinIndex(k_floor, 1, "floor", 1.0),
    )
    pinned = solve_allocation(problem, EXACT).change_fte
    assert pinned[k_ban, 0] == 0.0
    assert pinned[k_fix, 0] == pytest.approx(0.4)
    assert pinned[k_floor, 1] >= 1.0 - 1e-9


def test_more_pool_never_increases_unmet_need() -> None:
    costs = []
    for staff_pool in (0.0, 0.4, 0.8, 1.2, 2.0):
        problem = random_problem(3, pools=(staff_pool, 1.0))
        costs.append(solve_allocation(problem, EXACT).need_cost)
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(costs))


def test_moves_take_fte_from_where_it_matters_least_within_the_limit() -> None:
    # kindergarten 0 is over-staffed (flat curve), 1 and 2 are short; no pool at all
    flat = ConvexCurve(0, (1.0,), -2.0, 1.0, np.array([0.0, 0.0, 0.0, 0.0]))
    short = [
        ConvexCurve(k, (1.0,), -2.0, 1.0, np.array([40.0, 30.0, 20.0, 10.0, 0.0])) for k in (1, 2)
    ]
    problem = AllocationProblem(
        kindergarten_ids=("a", "b", "c"),
        resources=("staff",),
        step_fte=np.array([1.0]),
        cost_per_fte_nok=np.array([650_000.0]),
        curves=[flat, *short],
        pools_fte=np.array([0.0]),
        current_fte=np.array([[2.0], [2.0], [2.0]]),
        max_moves=1,
    )
    solution = solve_allocation(problem, EXACT)
    assert solution.moves_used == 1
    assert solution.change_fte[0, 0] == -2.0
    assert solution.change_fte[1:, 0].sum() == 2.0
    problem.max_moves = 0
    assert not solve_allocation(problem, EXACT).change_fte.any()


def test_infeasible_pins_give_the_nearest_plan_with_the_violation_named() -> None:
    # two pins each remove a staff FTE, but only one move is allowed
    curves = [ConvexCurve(k, (1.0,), -2.0, 1.0, np.array([4.0, 2.0, 0.0, 0.0])) for k in range(2)]
    problem = AllocationProblem(
        kindergarten_ids=("a", "b"),
        resources=("staff",),
        step_fte=np.array([1.0]),
        cost_per_fte_nok=np.array([650_000.0]),
        curves=curves,
        pools_fte=np.array([0.0]),
        current_fte=np.array([[2.0], [2.0]]),
        max_moves=1,
        pins=(PinIndex(0, 0, "fix", -1.0), PinIndex(1, 0, "fix", -1.0)),
    )
    solution = solve_allocation(problem, EXACT)
    assert solution.violations == {"max moves": pytest.approx(1.0)}
    assert solution.change_fte[:, 0].tolist() == [-1.0, -1.0]


def test_same_input_gives_the_same_plan() -> None:
    a = solve_allocation(random_problem(4, pools=(2.0, 3.0), n_k=8))
    b = solve_allocation(random_problem(4, pools=(2.0, 3.0), n_k=8))
    assert a.change_fte.tobytes() == b.change_fte.tobytes()


def test_previous_plan_is_kept_among_equally_good_plans() -> None:
    # two identical kindergartens, one step to give: without history the tie-break picks the
    # first; with a previous plan that gave it to the second, the churn term keeps it there
    curves = [ConvexCurve(k, (1.0,), 0.0, 1.0, np.array([10.0, 4.0, 4.0])) for k in range(2)]
    problem = AllocationProblem(
        kindergarten_ids=("a", "b"),
        resources=("staff",),
        step_fte=np.array([1.0]),
        cost_per_fte_nok=np.array([650_000.0]),
        curves=curves,
        pools_fte=np.array([1.0]),
        current_fte=np.array([[5.0], [5.0]]),
    )
    assert solve_allocation(problem, EXACT).change_fte[:, 0].tolist() == [1.0, 0.0]
    problem.previous_change_fte = np.array([[0.0], [1.0]])
    assert solve_allocation(problem, EXACT).change_fte[:, 0].tolist() == [0.0, 1.0]


@pytest.mark.parametrize("seed", range(3))
def test_greedy_start_is_optimal_for_one_resource_and_never_beats_the_milp(seed: int) -> None:
    from models.allocation.greedy import greedy_allocation

    problem = random_problem(seed, pools=(1.0, 0.0))
    problem.curves = [c for c in problem.curves if c.coefficients == (1.0, 1.0)]
    best, _ = brute_force(problem)
    greedy = greedy_allocation(problem, problem.pools_fte)
    assert problem.need_cost(greedy) == pytest.approx(best, abs=1e-6)
    two = random_problem(seed, pools=(0.6, 2.0))
    milp = solve_allocation(two, EXACT)
    assert milp.need_cost <= two.need_cost(greedy_allocation(two, two.pools_fte)) + 1e-9
