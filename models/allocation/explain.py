"""Explanations a planner reads: per line the need that drives it (with forecast numbers), the
constraint that binds, what one more FTE would buy, and the chance of breaching the norm with and
without the allocation; per plan the comparison with the proportional key and with no pool.

Counts of § 31/§ 37 decisions below 5 are shown as "<5" (small numbers identify children).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.contract import RESOURCES
from models.allocation.curves import NeedWeights, shortfalls
from models.allocation.problem import AllocationProblem, AllocationSolution
from models.needs import NeedScenarios

#: which shortfall measures each resource's norm
NEED_OF_RESOURCE = {
    "staff": "staffing",
    "pedagogue": "pedagogue",
    "resource_pedagogue": "special_needs",
}
NORM_LABEL = {
    "staffing": "staffing norm",
    "pedagogue": "pedagogue norm",
    "special_needs": "§ 31/§ 37 hours",
}
BREACH_TOLERANCE_FTE = 1e-6


def suppress_small(count: float) -> str:
    """A decision count as shown outside the protected zone: "<5" below 5."""
    value = round(float(count))
    return "<5" if value < 5 else str(value)


def breach_probability(
    needs: NeedScenarios, change_fte: np.ndarray, buffer: float = 1.1
) -> np.ndarray:
    """(K, R) share of scenario-months in which each resource's norm is breached."""
    short = shortfalls(needs, change_fte, buffer)
    return np.stack(
        [(short[NEED_OF_RESOURCE[r]] > BREACH_TOLERANCE_FTE).mean(axis=(0, 2)) for r in RESOURCES],
        axis=1,
    )


def required_fte(needs: NeedScenarios) -> np.ndarray:
    """(S, K, R) contracted FTE each resource needs to meet its requirement in every month of
    the period (the peak month; staff and resource pedagogues grossed up for sick leave)."""
    keep = 1.0 - np.minimum(needs.sick_leave_rate, 0.95)
    return np.stack(
        [
            (needs.staff_need_fte / keep).max(axis=2),
            needs.pedagogue_need.max(axis=2),
            (needs.special_needs_fte / keep).max(axis=2),
        ],
        axis=2,
    )


def allocation_summary(
    needs: NeedScenarios,
    problem: AllocationProblem,
    allocations: dict[str, np.ndarray],
    weights: NeedWeights,
) -> pd.DataFrame:
    """One row per allocation: expected unmet FTE-months per resource, expected
    kindergarten-months in breach per norm, the weighted objective, FTE used and cost."""
    rows = []
    for name, change in allocations.items():
        short = shortfalls(needs, change, weights.quality_buffer)
        row: dict[str, object] = {"allocation": name}
        for resource in RESOURCES:
            need = NEED_OF_RESOURCE[resource]
            row[f"unmet_{resource}_fte_months"] = float(short[need].sum(axis=(1, 2)).mean())
        for resource in RESOURCES:
            need = NEED_OF_RESOURCE[resource]
            breach = (short[need] > BREACH_TOLERANCE_FTE).sum(axis=(1, 2)).mean()
            row[f"breach_months_{need}"] = float(breach)
        row["weighted_unmet"] = problem.need_cost(change)
        for r, resource in enumerate(RESOURCES):
            row[f"extra_{resource}_fte"] = float(change[:, r].sum())
        row["cost_nok"] = problem.spend_nok(change)
        rows.append(row)
    return pd.DataFrame(rows).round(4)


def line_marginal_values(problem: AllocationProblem, change_fte: np.ndarray) -> np.ndarray:
    """(K, R) weighted unmet need avoided by one more FTE on each line, the rest of the plan
    unchanged (exact, from the convex curves)."""
    values = np.zeros_like(change_fte, dtype=float)
    for curve in problem.curves:
        coef = np.asarray(curve.coefficients)
        y = float(coef @ change_fte[curve.kindergarten])
        now = float(curve(y))
        for r in np.nonzero(coef)[0]:
            values[curve.kindergarten, r] += now - float(curve(y + coef[r]))
    return values


def binding_constraints(
    problem: AllocationProblem,
    solution: AllocationSolution,
    marginal: np.ndarray,
) -> list[list[str]]:
    """(K × R) the constraint that stops each line from getting more."""
    change = solution.change_fte
    used = change.sum(axis=0)
    step = problem.step_fte
    spent = float((used * problem.cost_per_fte_nok).sum())
    pins = {(p.kindergarten, p.resource): p for p in problem.pins}
    out: list[list[str]] = []
    for k in range(problem.n_kindergartens):
        row = []
        for r in range(problem.n_resources):
            pin = pins.get((k, r))
            pool_left = problem.pools_fte[r] - used[r]
            budget_left = None if problem.budget_nok is None else problem.budget_nok - spent
            if pin is not None and pin.kind in ("fix", "ban"):
                row.append(f"pin ({pin.kind})")
            elif pin is not None and abs(change[k, r] - pin.value_fte) < 1e-9:
                row.append("pin (floor)")
            elif marginal[k, r] <= 1e-6:
                row.append("need already met")
            elif (
                problem.max_moves > 0
                and solution.moves_used >= problem.max_moves
                and solution.remove_fte[k, r] == 0
                and pool_left < step[r] - 1e-9
            ):
                row.append("max moves")
            elif np.isfinite(pool_left) and pool_left < 1e-9:
                row.append("pool exhausted")
            elif budget_left is not None and budget_left < problem.cost_per_fte_nok[r] * step[r]:
                row.append("budget")
            elif np.isfinite(pool_left) and pool_left < step[r] - 1e-9:
                row.append("step size")
            else:
                row.append("better used elsewhere")
        out.append(row)
    return out


def _month(period: pd.Period) -> str:
    return period.strftime("%Y-%m")


def line_drivers(
    needs: NeedScenarios,
    now: pd.DataFrame,
    k: int,
    resource: str,
    required: np.ndarray,
    current: float,
) -> str:
    """Words naming the forecast that drives a line, with the numbers (medians)."""
    months = needs.months
    med = needs.median
    if resource == "resource_pedagogue":
        v31, v37 = med["vedtak_31"][k], med["vedtak_37"][k]
        peak = int(np.argmax(5 * v31 + 3 * v37))
        return (
            f"§ 31/§ 37 decisions {suppress_small(now['vedtak_31'].iloc[k])}/"
            f"{suppress_small(now['vedtak_37'].iloc[k])} now, {suppress_small(v31[peak])}/"
            f"{suppress_small(v37[peak])} expected at the peak ({_month(months[peak])}); "
            f"{np.median(required):.1f} FTE of help needed (p90 {np.quantile(required, 0.9):.1f})"
            f", {current:.1f} FTE now"
        )
    u3, o3 = med["children_under3"][k], med["children_over3"][k]
    peak = int(np.argmax(2 * u3 + o3))
    children = (
        f"children under/over 3 {now['children_under3'].iloc[k]:.0f}/"
        f"{now['children_over3'].iloc[k]:.0f} now, {u3[peak]:.0f}/{o3[peak]:.0f} expected at the "
        f"peak ({_month(months[peak])})"
    )
    if resource == "staff":
        sick = float(np.median(needs.sick_leave_rate[:, k]))
        return (
            f"{children}; staffing norm needs {np.median(required):.1f} FTE (p90 "
            f"{np.quantile(required, 0.9):.1f}) at {sick:.0%} sick leave, {current:.1f} FTE now"
        )
    exact = float(np.median(needs.pedagogue_need_exact[:, k].max(axis=1)))
    return (
        f"{children}; pedagogue norm needs {np.median(required):.0f} positions (exact "
        f"{exact:.2f}; p90 {np.quantile(required, 0.9):.0f}), {current:.1f} FTE now"
    )


def reason_sentence(
    change: float, resource: str, binding: str, before: float, after: float, drivers: str
) -> str:
    """One short sentence: what changes, the main driver, what binds, and the risk it leaves."""
    head = drivers.split("; ")[0]
    label = NORM_LABEL[NEED_OF_RESOURCE[resource]]
    what = "No change" if abs(change) < 1e-09 else f"{change:+.1f} FTE"
    return (
        f"{what}: {head}; {binding}; {label} breached in {before:.0%} of scenario-months "
        f"before, {after:.0%} after."
    )
