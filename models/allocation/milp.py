"""The allocation MILP, solved with HiGHS (``highspy``).

Formulation (why it scales): each kindergarten's expected weighted shortfall and its CVaR are
convex, non-increasing functions of its own extra supply, evaluated exactly on the step grid from
the scenarios (:mod:`models.allocation.curves`). They enter as *incremental* piecewise-linear
terms — supply ``y = y0 + Σ_j d_j`` with ``0 ≤ d_j ≤ dy`` at cost ``slope_j · d_j``; because the
slopes rise, the LP fills segments in order without binaries. Integers are only the step counts
per kindergarten × resource (added, removed by a move) and a move indicator; pools, budget, moves
and pins couple kindergartens. 700 kindergartens × 3 resources stay a few thousand integers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from models.allocation.constraints import (
    Slacks,
    add_budget,
    add_churn_against_previous,
    add_moves,
    add_need_cap,
    add_pin_floors,
    add_pools,
)
from models.allocation.greedy import greedy_allocation
from models.allocation.highs_model import MilpModel, SolverOptions, highs_inf, is_infeasible
from models.allocation.problem import AllocationProblem, AllocationSolution

__all__ = ["SolverOptions", "solve_allocation", "solve_relaxed"]

#: a tiny, index-based cost per added step so equally good plans are broken the same way
TIE_BREAK = 1e-7
#: how many FTE a resource can get without a pool or budget (the curves are flat long before)
UNBOUNDED_ADD_FTE = 1000.0


@dataclass
class _Built:
    """A formulated allocation MILP and where its parts are, so it can be re-solved in place."""

    model: MilpModel
    add: np.ndarray
    rem: np.ndarray
    pool_rows: dict[int, int]
    budget_row: int | None
    slack_names: list[tuple[str, int]]
    start: tuple[np.ndarray, np.ndarray]
    constant: float
    moves_allowed: bool


def _step_bounds(
    problem: AllocationProblem, pools: np.ndarray, budget_nok: float | None, moves_allowed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
    """Bounds on the added and removed steps (pins included) and the pins' floors, for the
    given pools and budget."""
    n_k, n_r = problem.n_kindergartens, problem.n_resources
    step = np.asarray(problem.step_fte, float)
    # upper bounds on added steps: the pool, else what the budget buys, else a large number
    add_cap_fte = np.where(np.isfinite(pools), pools, UNBOUNDED_ADD_FTE)
    if budget_nok is not None:
        by_budget = budget_nok / np.maximum(problem.cost_per_fte_nok, 1.0)
        add_cap_fte = np.where(np.isfinite(pools), add_cap_fte, np.minimum(add_cap_fte, by_budget))
    if moves_allowed:  # moved-out FTE refill the pool
        add_cap_fte = add_cap_fte + problem.current_fte.sum(axis=0)
    add_ub = np.tile(np.floor(add_cap_fte / step + 1e-9), (n_k, 1))
    rem_ub = np.floor(problem.current_fte / step + 1e-9) if moves_allowed else np.zeros((n_k, n_r))
    add_lb = np.zeros((n_k, n_r))
    rem_lb = np.zeros((n_k, n_r))
    floors: list[tuple[int, int, int]] = []
    for pin in problem.pins:
        k, r = pin.kindergarten, pin.resource
        steps = round(pin.value_fte / step[r])
        if pin.kind == "ban":
            add_ub[k, r] = rem_ub[k, r] = 0.0
        elif pin.kind == "fix":
            add_lb[k, r] = add_ub[k, r] = max(steps, 0)
            rem_lb[k, r] = rem_ub[k, r] = max(-steps, 0)
        else:
            floors.append((k, r, steps))
    return add_lb, add_ub, rem_lb, rem_ub, floors


def _build(problem: AllocationProblem, elastic: bool) -> _Built:
    """Formulate the allocation MILP (see the module's docstring) with its starting plan."""
    n_k, n_r = problem.n_kindergartens, problem.n_resources
    step = np.asarray(problem.step_fte, float)
    pools = np.asarray(problem.pools_fte, float)
    removal_pinned = any(p.kind == "fix" and p.value_fte < 0 for p in problem.pins)
    moves_allowed = problem.max_moves > 0 or elastic or removal_pinned
    m = MilpModel()
    add_lb, add_ub, rem_lb, rem_ub, floors = _step_bounds(
        problem, pools, problem.budget_nok, moves_allowed
    )

    order = np.arange(n_k * n_r).reshape(n_k, n_r)
    net_cost = problem.cost_weight_per_nok * problem.cost_per_fte_nok * step
    tie = TIE_BREAK * (1.0 + order / (n_k * n_r))
    previous = problem.previous_change_fte
    track_previous = previous is not None and bool(np.any(previous))
    # churn against "no change" is |add − remove| = add + remove at an optimum: a cost per step
    churn = 0.0 if track_previous else problem.churn_weight * step
    add_cost, rem_cost = net_cost + churn + tie, -net_cost + churn + tie
    add = m.columns(n_k * n_r, add_cost.ravel(), add_lb.ravel(), add_ub.ravel(), True)
    rem = m.columns(n_k * n_r, rem_cost.ravel(), rem_lb.ravel(), rem_ub.ravel(), True)
    add, rem = add.reshape(n_k, n_r), rem.reshape(n_k, n_r)

    constant, cap_cols, cap_vals, cap_constant = _curve_terms(m, problem, add, rem, step)
    add_pin_floors(m, add, rem, floors)
    add_need_cap(m, problem.need_cap, cap_cols, cap_vals, cap_constant)
    slacks: Slacks | None = [] if elastic else None
    pool_rows = add_pools(m, problem, add, rem, slacks)
    budget_row = add_budget(m, problem, add, rem, slacks)
    if moves_allowed:
        add_moves(m, problem, rem, rem_ub, slacks)
    if problem.churn_weight > 0 and previous is not None and track_previous:
        add_churn_against_previous(m, problem, add, rem, previous)

    # start from "pins only, nothing else" (feasible whenever the pins fit the pools and
    # budget); a plain request (pools only) starts from the greedy plan, which is near optimal,
    # so the solver mostly has to prove it
    start_cols = np.concatenate([add.ravel(), rem.ravel()])
    start_vals = np.concatenate([add_lb.ravel(), rem_lb.ravel()])
    for k, r, steps in floors:
        start_vals[k * n_r + r] = max(steps, start_vals[k * n_r + r])
    if problem.start_change_fte is not None:
        given = np.asarray(problem.start_change_fte, float)
        start_vals[: n_k * n_r] = np.round(np.maximum(given, 0.0) / step).ravel()
        start_vals[n_k * n_r :] = np.round(np.maximum(-given, 0.0) / step).ravel()
    elif (
        not problem.pins
        and problem.need_cap is None
        and problem.budget_nok is None
        and problem.max_moves == 0
        and not elastic
        and np.isfinite(pools).all()
    ):
        greedy = greedy_allocation(problem, pools)
        start_vals[: n_k * n_r] = np.round(greedy / step).ravel()
    return _Built(
        model=m,
        add=add,
        rem=rem,
        pool_rows=pool_rows,
        budget_row=budget_row,
        slack_names=slacks or [],
        start=(start_cols, start_vals),
        constant=constant,
        moves_allowed=moves_allowed,
    )


def _curve_terms(
    m: MilpModel, problem: AllocationProblem, add: np.ndarray, rem: np.ndarray, step: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, float]:
    """Every curve's segment columns and its row, for all curves at once (a city has 2,000; one
    at a time they were most of building the model): per curve, in curve order, its active
    segments (slope < 0; trailing flat ones merge into the unbounded last segment, of slope 0)
    then that last segment, and one row
    Σ_r coef_r·step_r·(add − remove) − Σ_j dy·s_j − tail = y0   (s_j ∈ [0, 1]).
    Returns the objective's constant (the curves' values at their start) and, for the equity
    tilt's bound, each segment column with its neutral cost and the neutral constant."""
    table = problem.curve_table if problem.curves else None
    if table is None:
        return 0.0, np.zeros(0, np.int64), np.zeros(0), 0.0
    n_curves = len(table.y0)
    n_slopes = table.length - 1
    curve_of = np.repeat(np.arange(n_curves), n_slopes)
    within = np.ones(max(len(table.values) - 1, 0), dtype=bool)
    within[table.offset[1:] - 1] = False  # differences across two curves' grids
    slopes = np.diff(table.values)[within] / table.dy[curve_of]
    local = np.arange(len(slopes)) - np.repeat(table.offset - np.arange(n_curves), n_slopes)
    n_active = np.zeros(n_curves, dtype=np.int64)
    negative = slopes < -1e-12
    np.maximum.at(n_active, curve_of[negative], local[negative] + 1)
    active = local < n_active[curve_of]
    last = np.nonzero(n_slopes > 0)[0]
    tail_slope = np.zeros(n_curves)
    ends_active = last[n_active[last] == n_slopes[last]]
    tail_slope[ends_active] = slopes[
        table.offset[ends_active] - ends_active + n_slopes[ends_active] - 1
    ]
    # columns: each curve's active segments, then its tail
    width = n_active + 1
    first = np.concatenate([[0], np.cumsum(width)[:-1]])
    seg_curve = curve_of[active]
    seg_local = local[active]
    cost = np.empty(int(width.sum()))
    is_tail = np.zeros(len(cost), dtype=bool)
    is_tail[first + n_active] = True
    cost[first[seg_curve] + seg_local] = slopes[active] * table.dy[seg_curve]
    cost[first + n_active] = tail_slope
    cols = m.columns(len(cost), cost, 0.0, np.where(is_tail, np.inf, 1.0))
    col_curve = np.repeat(np.arange(n_curves), width)

    coef = table.coefficients
    used_curve, used_resource = np.nonzero(coef)
    coef_step = coef[used_curve, used_resource] * step[used_resource]
    kindergarten = table.kindergarten[used_curve]
    # entries in the order one row at a time listed them (the matrix is summed and sorted anyway)
    m.rows(
        table.y0,
        table.y0,
        np.concatenate([used_curve, used_curve, col_curve]),
        np.concatenate([add[kindergarten, used_resource], rem[kindergarten, used_resource], cols]),
        np.concatenate([coef_step, -coef_step, np.where(is_tail, -1.0, -table.dy[col_curve])]),
    )
    starts = table.values[table.offset].tolist()
    constant = 0.0
    for value in starts:  # curve after curve, as the objective's constant always was summed
        constant += value
    cap = problem.need_cap
    if cap is None:
        return constant, np.zeros(0, np.int64), np.zeros(0), 0.0
    scale = np.asarray(cap.scale, dtype=float)
    cap_constant = 0.0
    for value, by in zip(starts, scale.tolist(), strict=True):
        cap_constant += value / by
    return constant, cols, cost / scale[col_curve], cap_constant


def solve_allocation(
    problem: AllocationProblem, options: SolverOptions | None = None, *, elastic: bool = False
) -> AllocationSolution:
    """Solve the allocation MILP. If the request is infeasible, solve the *elastic* version
    (pools, budget and max moves may be exceeded at a high price) and list what was exceeded in
    ``violations`` — the planner sees the nearest plan instead of nothing."""
    options = options or SolverOptions()
    started = time.perf_counter()
    built = _build(problem, elastic)
    highs = built.model.solve(options, built.start, offset=built.constant)
    if is_infeasible(highs) and not elastic:
        return solve_allocation(problem, options, elastic=True)
    return _read_solution(problem, built, highs, options, started)


def solve_relaxed(
    problem: AllocationProblem,
    solution: AllocationSolution,
    relaxations: list[tuple[np.ndarray, float | None]],
    options: SolverOptions | None = None,
) -> list[AllocationSolution]:
    """The plan re-solved with each (pools, budget) in place of the problem's, each at least as
    loose as the problem's (one more FTE in a pool, one more million NOK). The MILP is built and
    handed to HiGHS once; each re-solve changes only the pool and budget rows' bounds and the
    added steps' bounds, and starts from the plan (still feasible, being looser). Equal to
    :func:`solve_allocation` on each relaxed problem, up to HiGHS's gap."""
    options = options or SolverOptions()
    if solution.violations:  # an elastic plan: each relaxed problem is solved on its own
        return [
            solve_allocation(replace(problem, pools_fte=pools, budget_nok=budget), options)
            for pools, budget in relaxations
        ]
    built = _build(problem, elastic=False)
    highs = built.model.passed(options, offset=built.constant)
    step = np.asarray(problem.step_fte, float)
    add_cols = built.add.ravel().astype(np.int32)
    start_cols = np.concatenate([built.add.ravel(), built.rem.ravel()]).astype(np.int32)
    start_vals = np.concatenate(
        [np.round(solution.add_fte / step).ravel(), np.round(solution.remove_fte / step).ravel()]
    )
    solved: list[AllocationSolution] = []
    for pools, budget in relaxations:
        started = time.perf_counter()
        relaxed = replace(problem, pools_fte=np.asarray(pools, float), budget_nok=budget)
        add_lb, add_ub, _, _, _ = _step_bounds(
            relaxed, relaxed.pools_fte, budget, built.moves_allowed
        )
        highs.changeColsBounds(len(add_cols), add_cols, add_lb.ravel(), add_ub.ravel())
        for r, row in built.pool_rows.items():
            highs.changeRowBounds(row, -highs_inf(), float(relaxed.pools_fte[r]) + 1e-9)
        if built.budget_row is not None and budget is not None:
            highs.changeRowBounds(built.budget_row, -highs_inf(), budget + 1e-6)
        highs.setSolution(len(start_cols), start_cols, start_vals.astype(float))
        highs.run()
        if is_infeasible(highs):  # cannot happen for a looser problem; solved afresh if it does
            solved.append(solve_allocation(relaxed, options))
            continue
        solved.append(_read_solution(relaxed, built, highs, options, started))
    return solved


def _read_solution(
    problem: AllocationProblem,
    built: _Built,
    highs,
    options: SolverOptions,
    started: float,
) -> AllocationSolution:
    import highspy

    step = np.asarray(problem.step_fte, float)
    add, rem, slack_names = built.add, built.rem, built.slack_names
    status = highs.getModelStatus()
    info = highs.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if not has_solution:
        raise RuntimeError(
            f"HiGHS found no plan: {highs.modelStatusToString(status)} "
            f"(time limit {options.time_limit_s:g} s)"
        )
    x = np.asarray(highs.getSolution().col_value)
    add_fte = np.round(x[add]) * step
    rem_fte = np.round(x[rem]) * step
    solution = AllocationSolution(
        add_fte=add_fte,
        remove_fte=rem_fte,
        objective=float(info.objective_function_value),
        need_cost=problem.need_cost(add_fte - rem_fte),
        status=highs.modelStatusToString(status),
        mip_gap=float(info.mip_gap) if math.isfinite(info.mip_gap) else float("inf"),
        solve_seconds=time.perf_counter() - started,
        time_limited=status == highspy.HighsModelStatus.kTimeLimit,
        violations={name: float(x[col]) for name, col in slack_names if x[col] > 1e-6},
        pool_used_fte=(add_fte - rem_fte).sum(axis=0),
        moves_used=int(np.count_nonzero(rem_fte > 0)),
    )
    return solution
