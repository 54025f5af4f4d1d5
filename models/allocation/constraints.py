"""The allocation MILP's constraint families, one small builder each (as a constraint provider
per rule): the pins' floors, the need cap of the equity tilt, the pools, the budget, the moves
and the churn against the previous plan. Each adds its rows (and columns where it needs them) to
a :class:`~models.allocation.highs_model.MilpModel` over the added and removed step columns
``add`` and ``rem`` (kindergarten × resource), and is tested on its own
(``tests/models/test_allocation_constraints.py``).

*Elastic* families — pools, budget and moves — take a list of slacks when the request is solved
elastically (it was infeasible as given): a slack column at :data:`ELASTIC_PENALTY` per unit
lets the row be exceeded, and its name is what the planner is told was exceeded.
"""

from __future__ import annotations

import numpy as np

from models.allocation.highs_model import MilpModel
from models.allocation.problem import AllocationProblem, NeedCap

#: objective units per unit of elastic slack: far above any need so slack is used only if needed
ELASTIC_PENALTY = 1e5

#: (name shown to the planner, slack column) per exceeded-if-needed row
Slacks = list[tuple[str, int]]


def _with_slack(
    m: MilpModel,
    slacks: Slacks | None,
    name: str,
    cols: np.ndarray,
    vals: np.ndarray,
    unit: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The row's entries with an elastic slack column (``unit`` of the row per unit of slack)
    when ``slacks`` is given, else as they are."""
    if slacks is None:
        return cols, vals
    slack = m.columns(1, ELASTIC_PENALTY, 0.0, np.inf)
    slacks.append((name, int(slack[0])))
    return np.concatenate([cols, slack]), np.concatenate([vals, [-unit]])


def add_pin_floors(
    m: MilpModel, add: np.ndarray, rem: np.ndarray, floors: list[tuple[int, int, int]]
) -> None:
    """A floor pin: the kindergarten's net change in the resource is at least ``steps`` steps
    (``add − remove ≥ steps``). Fixes and bans are column bounds (``_step_bounds``)."""
    for k, r, steps in floors:
        m.row([add[k, r], rem[k, r]], [1.0, -1.0], float(steps), np.inf)


def add_need_cap(
    m: MilpModel,
    cap: NeedCap | None,
    segment_cols: np.ndarray,
    segment_costs: np.ndarray,
    start_constant: float,
) -> None:
    """The equity tilt's bound: the risk-neutral unmet need (each curve divided by its scale)
    stays within ``cap``: Σ neutral segment costs ≤ cap − Σ neutral values at the start. The
    segments fill in order under this row too (both it and the objective favour the steepest
    first)."""
    if cap is None or not len(segment_cols):
        return
    m.row(
        segment_cols,
        segment_costs,
        -np.inf,
        cap.cap - start_constant + 1e-9 * max(abs(cap.cap), 1.0),
    )


def add_pools(
    m: MilpModel,
    problem: AllocationProblem,
    add: np.ndarray,
    rem: np.ndarray,
    slacks: Slacks | None = None,
) -> dict[int, int]:
    """Each resource with a finite pool: the FTE added minus the FTE moved out stay within it.
    Returns each pooled resource's row (re-solves change its bound in place)."""
    n_k = problem.n_kindergartens
    step = np.asarray(problem.step_fte, float)
    pools = np.asarray(problem.pools_fte, float)
    rows: dict[int, int] = {}
    for r in range(problem.n_resources):
        if not np.isfinite(pools[r]):
            continue
        cols = np.concatenate([add[:, r], rem[:, r]])
        vals = np.concatenate([np.full(n_k, step[r]), np.full(n_k, -step[r])])
        cols, vals = _with_slack(m, slacks, f"pool {problem.resources[r]}", cols, vals)
        rows[r] = m.row(cols, vals, -np.inf, pools[r] + 1e-9)
    return rows


def add_budget(
    m: MilpModel,
    problem: AllocationProblem,
    add: np.ndarray,
    rem: np.ndarray,
    slacks: Slacks | None = None,
) -> int | None:
    """The added FTE's cost minus the moved-out FTE's cost stays within the budget (NOK).
    Returns the row, or ``None`` without a budget."""
    if problem.budget_nok is None:
        return None
    step = np.asarray(problem.step_fte, float)
    per_step = np.tile(problem.cost_per_fte_nok * step, (problem.n_kindergartens, 1))
    cols = np.concatenate([add.ravel(), rem.ravel()])
    vals = np.concatenate([per_step.ravel(), -per_step.ravel()])
    # slack in million NOK keeps the row well scaled
    cols, vals = _with_slack(m, slacks, "budget (million NOK)", cols, vals, unit=1e6)
    return m.row(cols, vals, -np.inf, problem.budget_nok + 1e-6)


def add_moves(
    m: MilpModel,
    problem: AllocationProblem,
    rem: np.ndarray,
    rem_ub: np.ndarray,
    slacks: Slacks | None = None,
) -> None:
    """A kindergarten × resource that gives up steps counts as one move (an indicator column,
    ``remove ≤ its bound × moved``); at most ``max_moves`` moves in the plan."""
    n_k, n_r = problem.n_kindergartens, problem.n_resources
    moved = m.columns(n_k * n_r, 0.0, 0.0, 1.0, True).reshape(n_k, n_r)
    for k in range(n_k):
        for r in range(n_r):
            if rem_ub[k, r] > 0:
                m.row([rem[k, r], moved[k, r]], [1.0, -rem_ub[k, r]], -np.inf, 0.0)
    cols, vals = _with_slack(m, slacks, "max moves", moved.ravel(), np.ones(n_k * n_r))
    m.row(cols, vals, -np.inf, float(problem.max_moves))


def add_churn_against_previous(
    m: MilpModel,
    problem: AllocationProblem,
    add: np.ndarray,
    rem: np.ndarray,
    previous: np.ndarray,
) -> None:
    """The churn against the previous plan's change: a deviation column per kindergarten ×
    resource at ``churn_weight`` per FTE, at least |step · (add − remove) − previous| (two
    rows). Against "no change" the churn is a cost per step on the step columns instead."""
    n_k, n_r = problem.n_kindergartens, problem.n_resources
    step = np.asarray(problem.step_fte, float)
    dev = m.columns(n_k * n_r, problem.churn_weight, 0.0, np.inf).reshape(n_k, n_r)
    for k in range(n_k):
        for r in range(n_r):
            s_r = step[r]
            m.row([dev[k, r], add[k, r], rem[k, r]], [1.0, -s_r, s_r], -previous[k, r], np.inf)
            m.row([dev[k, r], add[k, r], rem[k, r]], [1.0, s_r, -s_r], previous[k, r], np.inf)
