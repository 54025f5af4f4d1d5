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
    CurveLosses,
    PinIndex,
)
from models.needs import NeedScenarios

#: The risk level of the plan's tail measure: CVaR at 0.9 is the mean unmet need over the worst
#: 10 % of scenarios. The one default every plan path (CLI, API, form, report, tuning) uses.
DEFAULT_RISK = 0.9
#: The risk levels a planner may choose: below 0.5 the "tail" is most scenarios, at 1 only one.
RISK_RANGE = (0.5, 0.99)
#: What a district can hire, FTE per resource in RESOURCES order: staff and resource pedagogues
#: in half positions, pedagogues (pedagogical leaders) in whole positions.
DEFAULT_STEP_FTE: tuple[float, ...] = (0.5, 1.0, 0.5)


@dataclass(frozen=True)
class AllocationSettings:
    """How the optimiser weighs and steps (all shown with a plan)."""

    step_fte: tuple[float, ...] = DEFAULT_STEP_FTE  #: per resource, in RESOURCES order
    risk: float = DEFAULT_RISK
    weights: NeedWeights = field(default_factory=NeedWeights)


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
    removable_fte = (
        np.floor(current / steps + 1e-9) * steps if max_moves > 0 else np.zeros_like(current)
    )
    losses = curve_losses(
        needs,
        step_fte=steps,
        remove_cap_fte=removable_fte,
        risk=s.risk,
        weights=s.weights,
        reuse=losses,
    )
    curves = weighted_curves(losses, equity, s.weights.cvar_weight)
    problem = AllocationProblem(
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
        curve_losses=losses,
    )
    return problem, solve_allocation(problem, options)
