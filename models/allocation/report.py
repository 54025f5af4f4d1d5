"""Plan lines and summary tables from a solved allocation (contract columns first)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from data.contract import PLAN_COLUMNS, RESOURCES
from models.allocation.comparison import ComparedAllocations
from models.allocation.curves import NeedWeights
from models.allocation.explain import (
    DriverFigures,
    allocation_summary,
    binding_constraints,
    breach_probability,
    line_drivers,
    line_marginal_values,
    reason_sentence,
    required_fte,
)
from models.allocation.milp import SolverOptions, solve_relaxed
from models.allocation.problem import AllocationProblem, AllocationSolution
from models.needs import NeedScenarios


def pool_marginal_values(
    problem: AllocationProblem, solution: AllocationSolution, options: SolverOptions
) -> dict[str, float]:
    """Weighted unmet need one more FTE in each pool would avoid, by an exact re-solve (and per
    million NOK when the budget limits the plan). Pools without a limit are left out."""
    quick = replace(options, time_limit_s=max(options.time_limit_s / 4, 1.0))
    names: list[str] = []
    relaxations: list[tuple[np.ndarray, float | None]] = []
    for r, resource in enumerate(problem.resources):
        if not np.isfinite(problem.pools_fte[r]):
            continue
        pools = problem.pools_fte.copy()
        pools[r] += 1.0
        names.append(resource)
        relaxations.append((pools, problem.budget_nok))
    if problem.budget_nok is not None:
        names.append("budget_per_million_nok")
        relaxations.append((problem.pools_fte, problem.budget_nok + 1e6))
    relaxed = solve_relaxed(problem, solution, relaxations, quick)
    return {
        name: round(max(solution.need_cost - more.need_cost, 0.0), 4)
        for name, more in zip(names, relaxed, strict=True)
    }


def plan_lines(
    plan_id: str,
    needs: NeedScenarios,
    state: pd.DataFrame,
    problem: AllocationProblem,
    solution: AllocationSolution,
    weights: NeedWeights,
    months: pd.PeriodIndex,
    pool_values: dict[str, float],
) -> pd.DataFrame:
    """One row per kindergarten × resource: the contract's plan columns, then explanations."""
    change = solution.change_fte
    before = breach_probability(needs, np.zeros_like(change), weights.quality_buffer)
    after = breach_probability(needs, change, weights.quality_buffer)
    required = required_fte(needs)
    marginal = line_marginal_values(problem, change)
    binding = binding_constraints(problem, solution, marginal)
    figures = DriverFigures.of(needs, state, required)
    drivers_of = line_drivers(needs, state, required, problem.current_fte, figures)
    required_p50 = np.quantile(required, 0.5, axis=0)
    required_p90 = np.quantile(required, 0.9, axis=0)
    period = f"{months[0].strftime('%Y-%m')}–{months[-1].strftime('%Y-%m')}"
    rows = []
    for k, kid in enumerate(problem.kindergarten_ids):
        for r, resource in enumerate(RESOURCES):
            current = float(problem.current_fte[k, r])
            drivers = drivers_of[k][r]
            rows.append(
                {
                    "plan_id": plan_id,
                    "kindergarten_id": kid,
                    "period": period,
                    "resource": resource,
                    "current_fte": round(current, 4),
                    "suggested_fte": round(current + change[k, r], 4),
                    "change_fte": round(float(change[k, r]), 4),
                    "required_fte_p50": round(float(required_p50[k, r]), 4),
                    "required_fte_p90": round(float(required_p90[k, r]), 4),
                    "shortfall_risk": round(float(after[k, r]), 4),
                    "reason": reason_sentence(
                        float(change[k, r]),
                        resource,
                        binding[k][r],
                        float(before[k, r]),
                        float(after[k, r]),
                        drivers,
                    ),
                    "binding_constraint": binding[k][r],
                    "marginal_value_fte": round(float(marginal[k, r]), 4),
                    "marginal_value_pool": pool_values.get(resource, np.nan),
                    "breach_prob_before": round(float(before[k, r]), 4),
                    "breach_prob_after": round(float(after[k, r]), 4),
                    "drivers": drivers,
                    **figures.facts(k, resource),
                }
            )
    lines = pd.DataFrame(rows)
    extra = [c for c in lines.columns if c not in PLAN_COLUMNS]
    return lines[[*PLAN_COLUMNS, *extra]]


def plan_summary(
    needs: NeedScenarios,
    problem: AllocationProblem,
    compared: ComparedAllocations,
    weights: NeedWeights,
) -> pd.DataFrame:
    """One row per compared allocation — plan, equity weight 0, risk-neutral, proportional key,
    none — in that order (see :func:`allocation_summary`; ``cost_nok`` is each one's spend)."""
    return allocation_summary(
        needs, problem, {name: compared.changes[name] for name in compared.names()}, weights
    )
