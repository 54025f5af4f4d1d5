"""Each of the allocation MILP's constraint families on its own (models.allocation.constraints):
a tiny model of step columns, the one builder, and an objective that pushes against the rule —
the optimum must sit exactly on it, and an elastic row must name what it exceeded."""

from __future__ import annotations

import numpy as np
import pytest

from models.allocation import AllocationProblem, ConvexCurve, NeedCap
from models.allocation.constraints import (
    ELASTIC_PENALTY,
    add_budget,
    add_churn_against_previous,
    add_moves,
    add_need_cap,
    add_pin_floors,
    add_pools,
)
from models.allocation.highs_model import MilpModel, SolverOptions, is_infeasible

RESOURCES = ("staff", "pedagogue")
STEP = np.array([0.5, 1.0])
COST = np.array([650_000.0, 780_000.0])


def problem(n_k: int = 3, **fields) -> AllocationProblem:
    """Three kindergartens, staff in half positions and pedagogues in whole ones, 4 FTE of each
    today; the curves do not matter to the rows built here."""
    curves = [ConvexCurve(k, (1.0, 1.0), 0.0, 0.5, np.array([1.0, 0.0])) for k in range(n_k)]
    base = {
        "kindergarten_ids": tuple(f"k{k}" for k in range(n_k)),
        "resources": RESOURCES,
        "step_fte": STEP,
        "cost_per_fte_nok": COST,
        "curves": curves,
        "pools_fte": np.array([np.inf, np.inf]),
        "current_fte": np.full((n_k, 2), 4.0),
        "churn_weight": 0.0,
        "cost_weight_per_nok": 0.0,
    }
    return AllocationProblem(**{**base, **fields})


def steps(
    m: MilpModel,
    n_k: int,
    *,
    add_cost: float,
    rem_cost: float = 0.0,
    add_lb: float = 0.0,
    rem_ub: float = 20.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Integer added and removed step columns (kindergarten × resource), up to 20 added and
    ``rem_ub`` removed steps each (0: nothing can be moved out)."""
    add = m.columns(n_k * 2, add_cost, add_lb, 20.0, True).reshape(n_k, 2)
    rem = m.columns(n_k * 2, rem_cost, 0.0, rem_ub, True).reshape(n_k, 2)
    return add, rem


def solve(m: MilpModel) -> np.ndarray:
    highs = m.solve(SolverOptions(mip_rel_gap=0.0))
    assert not is_infeasible(highs)
    return np.asarray(highs.getSolution().col_value)


def test_pools_hold_the_net_change_in_fte_to_each_finite_pool() -> None:
    p = problem(pools_fte=np.array([1.5, np.inf]))
    m = MilpModel()
    # every added step pays: the solver wants them all
    add, rem = steps(m, 3, add_cost=-1.0, rem_ub=0.0)
    rows = add_pools(m, p, add, rem)
    x = solve(m)
    staff_added = (x[add[:, 0]] - x[rem[:, 0]]).sum() * STEP[0]
    assert set(rows) == {0}, "only the finite pool gets a row"
    assert staff_added == pytest.approx(1.5)  # exactly the pool: 3 half positions
    assert x[add[:, 1]].sum() == pytest.approx(60)  # no pool: every pedagogue step taken


def test_moved_out_fte_refill_the_pool() -> None:
    p = problem(pools_fte=np.array([1.0, np.inf]))
    m = MilpModel()
    add, rem = steps(m, 3, add_cost=-1.0, rem_cost=0.5)
    add_pools(m, p, add, rem)
    x = solve(m)
    net = (x[add[:, 0]] - x[rem[:, 0]]).sum() * STEP[0]
    assert net == pytest.approx(1.0)
    assert x[rem[:, 0]].sum() > 0  # a step moved out buys two added (cost −1 each, +0.5)


def test_an_elastic_pool_is_exceeded_only_as_far_as_forced_and_named() -> None:
    p = problem(pools_fte=np.array([1.0, np.inf]))
    m = MilpModel()
    # each kindergarten must get a step; nothing can be moved out
    add, rem = steps(m, 3, add_cost=1.0, add_lb=1.0, rem_ub=0.0)
    slacks: list[tuple[str, int]] = []
    add_pools(m, p, add, rem, slacks)
    x = solve(m)
    assert [name for name, _ in slacks] == ["pool staff"]  # the pedagogues have no pool
    assert x[slacks[0][1]] == pytest.approx(0.5)  # 3 half positions against a pool of 1.0


def test_the_budget_holds_the_net_cost_in_nok() -> None:
    budget = 2_000_000.0
    p = problem(budget_nok=budget)
    m = MilpModel()
    add, rem = steps(m, 3, add_cost=-1.0, rem_ub=0.0)
    row = add_budget(m, p, add, rem)
    x = solve(m)
    spent = ((x[add] - x[rem]) * STEP * COST).sum()
    assert row is not None
    assert spent <= budget + 1e-6
    assert spent > budget - min(STEP * COST)  # no step that still fits was left unbought
    assert add_budget(MilpModel(), problem(), add, rem) is None  # no budget, no row


def test_an_elastic_budget_states_its_excess_in_million_nok() -> None:
    p = problem(budget_nok=1_000_000.0)
    m = MilpModel()
    # 3 × (0.5 × 650k + 780k) forced, nothing can be moved out
    add, rem = steps(m, 3, add_cost=1.0, add_lb=1.0, rem_ub=0.0)
    slacks: list[tuple[str, int]] = []
    add_budget(m, p, add, rem, slacks)
    x = solve(m)
    forced = 3 * (0.5 * 650_000 + 780_000)
    assert slacks[0][0] == "budget (million NOK)"
    assert x[slacks[0][1]] == pytest.approx((forced - 1_000_000) / 1e6)


def test_pin_floors_give_at_least_the_pinned_net_steps() -> None:
    m = MilpModel()
    add, rem = steps(m, 3, add_cost=1.0, rem_cost=1.0)  # every step costs: the floor binds
    add_pin_floors(m, add, rem, [(0, 0, 3), (2, 1, 1)])
    x = solve(m)
    assert x[add[0, 0]] - x[rem[0, 0]] == pytest.approx(3)
    assert x[add[2, 1]] - x[rem[2, 1]] == pytest.approx(1)
    assert x[add].sum() == pytest.approx(4)  # nothing beyond the floors


def test_moves_count_each_kindergarten_resource_giving_up_steps_once() -> None:
    p = problem(max_moves=1)
    m = MilpModel()
    _, rem = steps(m, 3, add_cost=0.0, rem_cost=-1.0)  # the solver wants to move out
    rem_ub = np.full((3, 2), 8.0)
    add_moves(m, p, rem, rem_ub, None)
    x = solve(m)
    giving = np.count_nonzero(x[rem] > 0.5)
    assert giving == 1
    assert x[rem].max() == pytest.approx(8)  # the one move takes what its bound allows


def test_an_elastic_move_limit_names_max_moves() -> None:
    p = problem(max_moves=0)
    m = MilpModel()
    _, rem = steps(m, 3, add_cost=0.0)
    # the first kindergarten's staff must give up a step, with no move allowed
    m.row([rem[0, 0]], [1.0], 1.0, np.inf)
    slacks: list[tuple[str, int]] = []
    add_moves(m, p, rem, np.full((3, 2), 8.0), slacks)
    x = solve(m)
    assert slacks[0][0] == "max moves"
    assert x[slacks[0][1]] == pytest.approx(1.0)
    assert m.cost[-1][0] == ELASTIC_PENALTY


def test_churn_against_the_previous_plan_is_the_absolute_fte_difference() -> None:
    previous = np.array([[1.0, 0.0], [0.0, -1.0], [0.0, 0.0]])
    p = problem(churn_weight=1.0, previous_change_fte=previous)
    m = MilpModel()
    add, rem = steps(m, 3, add_cost=0.0)
    # the plan is fixed: staff +0.5 at k0, pedagogue +1 at k1, nothing at k2
    m.row([add[0, 0]], [1.0], 1.0, 1.0)
    m.row([add[1, 1]], [1.0], 1.0, 1.0)
    for k, r in [(0, 1), (1, 0), (2, 0), (2, 1)]:
        m.row([add[k, r], rem[k, r]], [1.0, 1.0], 0.0, 0.0)
    m.row([rem[0, 0], rem[1, 1]], [1.0, 1.0], 0.0, 0.0)
    first_dev = m.n_cols
    add_churn_against_previous(m, p, add, rem, previous)
    x = solve(m)
    dev = x[first_dev : first_dev + 6].reshape(3, 2)
    np.testing.assert_allclose(dev, [[0.5, 0.0], [0.0, 2.0], [0.0, 0.0]], atol=1e-9)


def test_the_need_cap_bounds_the_neutral_need_and_is_skipped_without_one() -> None:
    m = MilpModel()
    # three segments of need (neutral cost per unit −2, −1, −0.5), each costing 1 to fill
    segments = m.columns(3, 1.0, 0.0, 1.0)
    costs = np.array([-2.0, -1.0, -0.5])
    add_need_cap(m, NeedCap(scale=np.ones(1), cap=9.0), segments, costs, 10.0)
    x = solve(m)
    # start 10, cap 9: the need must fall by 1, most cheaply by half the steepest segment
    np.testing.assert_allclose(x[segments], [0.5, 0.0, 0.0], atol=1e-9)
    rows_before = len(m.rows_lower)
    add_need_cap(m, None, segments, costs, 10.0)
    add_need_cap(m, NeedCap(scale=np.ones(1), cap=9.0), np.zeros(0, np.int64), np.zeros(0), 0.0)
    assert len(m.rows_lower) == rows_before
