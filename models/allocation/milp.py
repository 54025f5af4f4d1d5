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
import os
import sys
import threading
import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from models.allocation.problem import AllocationProblem, AllocationSolution

#: objective units per unit of elastic slack: far above any need so slack is used only if needed
ELASTIC_PENALTY = 1e5
#: a tiny, index-based cost per added step so equally good plans are broken the same way
TIE_BREAK = 1e-7
#: how many FTE a resource can get without a pool or budget (the curves are flat long before)
UNBOUNDED_ADD_FTE = 1000.0


@dataclass(frozen=True)
class SolverOptions:
    """Fixed HiGHS options: one thread and a fixed seed make the plan reproducible."""

    time_limit_s: float = 60.0
    mip_rel_gap: float = 1e-4
    random_seed: int = 0
    threads: int = 1


class _Model:
    """Columns and rows gathered as triplets, then passed to HiGHS in one go."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[bool] = []
        self.rows_lower: list[float] = []
        self.rows_upper: list[float] = []
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def columns(self, n: int, cost, lower, upper, integer: bool = False) -> np.ndarray:
        start = len(self.cost)
        self.cost.extend(np.broadcast_to(np.asarray(cost, float), (n,)).tolist())
        self.lower.extend(np.broadcast_to(np.asarray(lower, float), (n,)).tolist())
        self.upper.extend(np.broadcast_to(np.asarray(upper, float), (n,)).tolist())
        self.integer.extend([integer] * n)
        return np.arange(start, start + n)

    def row(self, cols, values, lower: float, upper: float) -> int:
        index = len(self.rows_lower)
        cols = np.asarray(cols, dtype=np.int64)
        values = np.broadcast_to(np.asarray(values, float), cols.shape)
        self.entries.append((np.full(len(cols), index), cols, values))
        self.rows_lower.append(lower)
        self.rows_upper.append(upper)
        return index

    def solve(
        self,
        options: SolverOptions,
        start: tuple[np.ndarray, np.ndarray] | None = None,
        offset: float = 0.0,
    ):
        highs = self.passed(options, offset)
        if start is not None:  # a feasible plan to start from: a time limit always has an answer
            highs.setSolution(len(start[0]), start[0].astype(np.int32), start[1].astype(float))
        highs.run()
        return highs

    def passed(self, options: SolverOptions, offset: float = 0.0):
        """A HiGHS instance holding this model, not yet solved (re-solves change it in place)."""
        import highspy

        inf = highspy.kHighsInf
        rows = np.concatenate([e[0] for e in self.entries]) if self.entries else np.zeros(0, int)
        cols = np.concatenate([e[1] for e in self.entries]) if self.entries else np.zeros(0, int)
        vals = np.concatenate([e[2] for e in self.entries]) if self.entries else np.zeros(0)
        n_col, n_row = len(self.cost), len(self.rows_lower)
        matrix = sp.csc_matrix((vals, (rows, cols)), shape=(n_row, n_col))
        matrix.sum_duplicates()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_col, n_row
        # the curves' value at their start enters as the objective's constant, so HiGHS's
        # relative gap is relative to the whole expected weighted unmet need
        lp.offset_ = offset
        lp.col_cost_ = np.asarray(self.cost)
        lp.col_lower_ = np.asarray(self.lower)
        lp.col_upper_ = np.where(np.isinf(self.upper), inf, self.upper)
        lp.row_lower_ = np.where(np.isinf(self.rows_lower), -inf, self.rows_lower)
        lp.row_upper_ = np.where(np.isinf(self.rows_upper), inf, self.rows_upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data
        if any(self.integer):
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                for i in self.integer
            ]
        highs = _new_highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("random_seed", options.random_seed)
        highs.setOptionValue("threads", options.threads)
        highs.setOptionValue("mip_rel_gap", options.mip_rel_gap)
        highs.setOptionValue("time_limit", float(options.time_limit_s))
        highs.passModel(lp)
        return highs


_banner_shown = False
_banner_lock = threading.Lock()


def _new_highs():
    """A HiGHS instance; the first one in a process prints a copyright banner straight to file
    descriptor 1 (C code, before any option can silence it), which would land in the middle of
    a command's progress display or a CSV piped to stdout — so that one is built with fd 1
    pointed at /dev/null."""
    import highspy

    global _banner_shown
    if _banner_shown:
        return highspy.Highs()
    # solves run in threads (a plan's comparisons beside its marginal values): the first two
    # must not both swap fd 1, or one would restore the other's /dev/null
    with _banner_lock:
        if _banner_shown:
            return highspy.Highs()
        _banner_shown = True
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError):  # no usable stdout: nothing to protect
            return highspy.Highs()
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            return highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)


@dataclass
class _Built:
    """A formulated allocation MILP and where its parts are, so it can be re-solved in place."""

    model: _Model
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
    m = _Model()
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

    constant = 0.0
    # the equity tilt's bound: the neutral need (each curve / its equity factor) ≤ the cap
    cap = problem.need_cap
    cap_cols: list[np.ndarray] = []
    cap_vals: list[np.ndarray] = []
    cap_constant = 0.0
    for i, curve in enumerate(problem.curves):
        k = curve.kindergarten
        slopes = curve.slopes
        # trailing flat segments merge into one unbounded segment of slope 0
        n_active = int(np.max(np.nonzero(slopes < -1e-12)[0], initial=-1)) + 1
        seg = m.columns(n_active, slopes[:n_active] * curve.dy, 0.0, 1.0)
        tail_slope = slopes[-1] if n_active == len(slopes) and len(slopes) else 0.0
        tail = m.columns(1, tail_slope, 0.0, np.inf)
        constant += float(curve.values[0])
        if cap is not None:
            scale = float(cap.scale[i])
            cap_cols.append(np.concatenate([seg, tail]))
            cap_vals.append(np.append(slopes[:n_active] * curve.dy, tail_slope) / scale)
            cap_constant += float(curve.values[0]) / scale
        coef = np.asarray(curve.coefficients, float)
        used = np.nonzero(coef)[0]
        # Σ_r coef_r·step_r·(add − remove) − Σ_j dy·s_j − tail = y0   (s_j ∈ [0, 1])
        m.row(
            np.concatenate([add[k, used], rem[k, used], seg, tail]),
            np.concatenate(
                [
                    coef[used] * step[used],
                    -coef[used] * step[used],
                    np.full(n_active, -curve.dy),
                    [-1.0],
                ]
            ),
            curve.y0,
            curve.y0,
        )

    for k, r, steps in floors:
        m.row([add[k, r], rem[k, r]], [1.0, -1.0], float(steps), np.inf)

    if cap is not None and cap_cols:
        # Σ neutral segment costs ≤ cap − Σ neutral values at the start; the segments fill in
        # order under this row too (both it and the objective favour the steepest first)
        m.row(
            np.concatenate(cap_cols),
            np.concatenate(cap_vals),
            -np.inf,
            cap.cap - cap_constant + 1e-9 * max(abs(cap.cap), 1.0),
        )

    pool_rows: dict[int, int] = {}
    slack_names: list[tuple[str, int]] = []
    for r in range(n_r):
        if not np.isfinite(pools[r]):
            continue
        cols = np.concatenate([add[:, r], rem[:, r]])
        vals = np.concatenate([np.full(n_k, step[r]), np.full(n_k, -step[r])])
        if elastic:
            s = m.columns(1, ELASTIC_PENALTY, 0.0, np.inf)
            slack_names.append((f"pool {problem.resources[r]}", int(s[0])))
            cols, vals = np.concatenate([cols, s]), np.concatenate([vals, [-1.0]])
        pool_rows[r] = m.row(cols, vals, -np.inf, pools[r] + 1e-9)

    budget_row: int | None = None
    if problem.budget_nok is not None:
        per_step = np.tile(problem.cost_per_fte_nok * step, (n_k, 1))
        cols = np.concatenate([add.ravel(), rem.ravel()])
        vals = np.concatenate([per_step.ravel(), -per_step.ravel()])
        if elastic:  # slack in million NOK keeps the row well scaled
            s = m.columns(1, ELASTIC_PENALTY, 0.0, np.inf)
            slack_names.append(("budget (million NOK)", int(s[0])))
            cols, vals = np.concatenate([cols, s]), np.concatenate([vals, [-1e6]])
        budget_row = m.row(cols, vals, -np.inf, problem.budget_nok + 1e-6)

    if moves_allowed:
        moved = m.columns(n_k * n_r, 0.0, 0.0, 1.0, True).reshape(n_k, n_r)
        for k in range(n_k):
            for r in range(n_r):
                if rem_ub[k, r] > 0:
                    m.row([rem[k, r], moved[k, r]], [1.0, -rem_ub[k, r]], -np.inf, 0.0)
        cols, vals = moved.ravel(), np.ones(n_k * n_r)
        if elastic:
            s = m.columns(1, ELASTIC_PENALTY, 0.0, np.inf)
            slack_names.append(("max moves", int(s[0])))
            cols, vals = np.concatenate([cols, s]), np.concatenate([vals, [-1.0]])
        m.row(cols, vals, -np.inf, float(problem.max_moves))

    if problem.churn_weight > 0 and previous is not None and track_previous:
        dev = m.columns(n_k * n_r, problem.churn_weight, 0.0, np.inf).reshape(n_k, n_r)
        for k in range(n_k):
            for r in range(n_r):
                s_r = step[r]
                m.row([dev[k, r], add[k, r], rem[k, r]], [1.0, -s_r, s_r], -previous[k, r], np.inf)
                m.row([dev[k, r], add[k, r], rem[k, r]], [1.0, s_r, -s_r], previous[k, r], np.inf)

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
        from models.allocation.greedy import greedy_allocation

        greedy = greedy_allocation(problem, pools)
        start_vals[: n_k * n_r] = np.round(greedy / step).ravel()
    return _Built(
        model=m,
        add=add,
        rem=rem,
        pool_rows=pool_rows,
        budget_row=budget_row,
        slack_names=slack_names,
        start=(start_cols, start_vals),
        constant=constant,
        moves_allowed=moves_allowed,
    )


def _infeasible(highs) -> bool:
    import highspy

    return highs.getModelStatus() in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    )


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
    if _infeasible(highs) and not elastic:
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
            highs.changeRowBounds(row, -_highs_inf(), float(relaxed.pools_fte[r]) + 1e-9)
        if built.budget_row is not None and budget is not None:
            highs.changeRowBounds(built.budget_row, -_highs_inf(), budget + 1e-6)
        highs.setSolution(len(start_cols), start_cols, start_vals.astype(float))
        highs.run()
        if _infeasible(highs):  # cannot happen for a looser problem; solved afresh if it does
            solved.append(solve_allocation(relaxed, options))
            continue
        solved.append(_read_solution(relaxed, built, highs, options, started))
    return solved


def _highs_inf() -> float:
    import highspy

    return float(highspy.kHighsInf)


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
