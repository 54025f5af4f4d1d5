"""One call from need scenarios to a solved allocation: curves, problem, MILP. The planning
service and the benchmarks use it, so every plan compared is built the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from data.contract import RESOURCES
from models.allocation.curves import NeedWeights, curve_losses, weighted_curves
from models.allocation.milp import SolverOptions, solve_allocation
from models.allocation.problem import (
    AllocationProblem,
    AllocationSolution,
    ConvexCurve,
    CurveLosses,
    NeedCap,
    PinIndex,
)
from models.needs import NeedScenarios

#: The risk level of the plan's tail measure: CVaR at 0.9 is the mean unmet need over the worst
#: 10 % of scenarios. The one default every plan path (CLI, API, form, report, tuning) uses.
DEFAULT_RISK = 0.9
#: The risk levels a planner may choose: below 0.5 the "tail" is most scenarios, at 1 only one.
RISK_RANGE = (0.5, 0.99)
#: The factor on the scenarios' normal scores the plan draws its need scenarios with (1 = the
#: forecast's calibrated monthly quantiles). Why not narrower, although at 1 a kindergarten's
#: yearly shortfall is too uncertain in the scenarios (80 % intervals covered 0.89 / 0.94 of the
#: realised one on the decision backtest's tuning seeds of the cohort / capacity family): 0.6
#: lowered the realised regret on both families with the benchmark's reduced forecaster (seeds
#: 1–6, by 0.004–0.026), but with the full forecaster the cohort family at equity 0 did not
#: improve (0.256 → 0.257 on seeds 1–3), and on the report seeds 101–103 the cohort family
#: lost 0.009–0.035 (benchmarks/README.md, bench_decisions 2026-12-07, 12:54–14:45 UTC). Not
#: policy: ``bemanning tune --plans`` searches it (``SPREAD_RANGE``) on a district's own history.
DEFAULT_SCENARIO_SPREAD = 1.0
#: The scenario spreads ``tune --plans`` searches (the plan accepts any positive spread).
SPREAD_RANGE = (0.4, 1.6)
#: What a district can hire, FTE per resource in RESOURCES order: staff and resource pedagogues
#: in half positions, pedagogues (pedagogical leaders) in whole positions.
DEFAULT_STEP_FTE: tuple[float, ...] = (0.5, 1.0, 0.5)


@dataclass(frozen=True)
class AllocationSettings:
    """How the optimiser weighs and steps (all shown with a plan)."""

    step_fte: tuple[float, ...] = DEFAULT_STEP_FTE  #: per resource, in RESOURCES order
    risk: float = DEFAULT_RISK
    weights: NeedWeights = field(default_factory=NeedWeights)
    #: how much of what the pools buy (expected need, every kindergarten weighing the same) the
    #: equity tilt may give up, as a share (:func:`models.allocation.curves.equity_cost_share`);
    #: None: no bound, the tilted objective alone decides
    equity_cost_share: float | None = None


def allocation_losses(
    needs: NeedScenarios,
    settings: AllocationSettings,
    max_moves: int = 0,
    reuse: CurveLosses | None = None,
) -> CurveLosses:
    """The curves' losses :func:`optimise` builds (or reuses) for ``needs`` under
    ``settings``: built once, they serve every re-solve on the same scenarios, whatever its
    equity or tail weight (which only weigh them)."""
    steps = np.asarray(settings.step_fte, dtype=float)
    current = needs.current_fte
    removable_fte = (
        np.floor(current / steps + 1e-9) * steps if max_moves > 0 else np.zeros_like(current)
    )
    return curve_losses(
        needs,
        step_fte=steps,
        remove_cap_fte=removable_fte,
        risk=settings.risk,
        weights=settings.weights,
        reuse=reuse,
    )


def optimise(
    needs: NeedScenarios,
    *,
    pools_fte: np.ndarray,
    cost_per_fte_nok: np.ndarray,
    equity: np.ndarray,
    settings: AllocationSettings | None = None,
    budget_nok: float | None = None,
    max_moves: int = 0,
    pins: tuple[PinIndex, ...] = (),
    previous_change_fte: np.ndarray | None = None,
    options: SolverOptions | None = None,
    losses: CurveLosses | None = None,
) -> tuple[AllocationProblem, AllocationSolution]:
    """Build the curves from ``needs`` and solve; ``pools_fte`` per resource (``inf`` = only
    the budget limits it), ``cost_per_fte_nok`` for the plan period, ``equity`` per kindergarten
    (1 = neutral). ``losses`` (a solved problem's ``curve_losses``) are reused when they were
    built from the same scenarios and settings (the comparisons' re-solves)."""
    s = settings or AllocationSettings()
    steps = np.asarray(s.step_fte, dtype=float)
    current = needs.current_fte
    equity = np.asarray(equity, dtype=float)
    bounded = s.equity_cost_share is not None and not np.allclose(equity, 1.0)
    losses = allocation_losses(needs, s, max_moves, reuse=losses)
    curves = weighted_curves(
        losses, np.ones_like(equity) if bounded else equity, s.weights.cvar_weight
    )

    def problem_of(
        curves: list[ConvexCurve],
        cap: NeedCap | None = None,
        start: np.ndarray | None = None,
        neutral: np.ndarray | None = None,
    ) -> AllocationProblem:
        return AllocationProblem(
            kindergarten_ids=needs.kindergarten_ids,
            resources=RESOURCES,
            step_fte=steps,
            cost_per_fte_nok=np.asarray(cost_per_fte_nok, dtype=float),
            curves=curves,
            pools_fte=np.asarray(pools_fte, dtype=float),
            current_fte=current,
            budget_nok=budget_nok,
            max_moves=max_moves,
            pins=pins,
            previous_change_fte=previous_change_fte,
            need_cap=cap,
            start_change_fte=start,
            neutral_change_fte=neutral,
            curve_losses=losses,
        )

    if not bounded:
        problem = problem_of(curves)
        return problem, solve_allocation(problem, options)
    # The equity tilt within a bound: first the plan where every kindergarten's need weighs the
    # same; then the tilted plan, whose neutral need may exceed that plan's by at most the share
    # of what the pools buy there. The tilt then moves FTE between kindergartens whose needs
    # are close (where the expected loss is small) and not away from a clearly larger need.
    neutral_problem = problem_of(curves)
    neutral = solve_allocation(neutral_problem, options)
    if neutral.violations:  # an infeasible request: the nearest plan, tilted as before
        problem = problem_of(weighted_curves(losses, equity, s.weights.cvar_weight))
        return problem, solve_allocation(problem, options)
    nothing = neutral_problem.need_cost(np.zeros_like(neutral.change_fte))
    bought = max(nothing - neutral.need_cost, 0.0)
    scale = np.array([equity[c.kindergarten] for c in curves])
    cap = NeedCap(scale=scale, cap=neutral.need_cost + float(s.equity_cost_share or 0.0) * bought)
    tilted = weighted_curves(losses, equity, s.weights.cvar_weight)
    problem = problem_of(tilted, cap, neutral.change_fte, neutral.change_fte)
    try:
        return problem, solve_allocation(problem, options)
    except RuntimeError:  # the time limit ran out before the tilt found a plan: the neutral one
        neutral_problem.neutral_change_fte = neutral.change_fte
        return neutral_problem, neutral
