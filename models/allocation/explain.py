"""Explanations a planner reads: per line the need that drives it (with forecast numbers), the
constraint that binds, what one more FTE would buy, and the chance of breaching the norm with and
without the allocation; per plan the comparison with the proportional key and with no pool.

Counts of § 31/§ 37 decisions below 5 are shown as "<5" (small numbers identify children).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    unchanged (exact, from the convex curves; every curve evaluated at once)."""
    change = np.asarray(change_fte, dtype=float)
    if not problem.curves:
        return np.zeros_like(change, dtype=float)
    return problem.curve_table.gains(change, np.ones(change.shape[1]))


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


@dataclass(frozen=True)
class DriverFigures:
    """The numbers behind every line's explanation (medians over the scenarios), computed once
    for all kindergartens: children and § 31/§ 37 decisions now and in each kindergarten's peak
    month, sick leave, the pedagogue norm's exact positions and the need (median, p90)."""

    need_p50: np.ndarray  # (K, R)
    need_p90: np.ndarray  # (K, R)
    sick: np.ndarray  # (K,)
    exact: np.ndarray  # (K,)
    now_u3: np.ndarray
    now_o3: np.ndarray
    now_31: np.ndarray
    now_37: np.ndarray
    u3_peak: np.ndarray
    o3_peak: np.ndarray
    v31_peak: np.ndarray
    v37_peak: np.ndarray
    child_peak_month: list[str]
    decision_peak_month: list[str]

    @classmethod
    def of(cls, needs: NeedScenarios, now: pd.DataFrame, required: np.ndarray) -> DriverFigures:
        months = needs.months
        med = needs.median
        n_k = len(needs.kindergarten_ids)
        v31, v37 = med["vedtak_31"], med["vedtak_37"]
        u3, o3 = med["children_under3"], med["children_over3"]
        decision_peak = np.argmax(5 * v31 + 3 * v37, axis=1)
        child_peak = np.argmax(2 * u3 + o3, axis=1)
        ks = np.arange(n_k)
        return cls(
            need_p50=np.median(required, axis=0),
            need_p90=np.quantile(required, 0.9, axis=0),
            # per kindergarten the median over scenarios and months, as over the (S, M) block
            sick=np.median(np.moveaxis(needs.sick_leave_rate, 1, 0).reshape(n_k, -1), axis=1),
            exact=np.median(needs.pedagogue_need_exact.max(axis=2), axis=0),
            now_u3=now["children_under3"].to_numpy(float),
            now_o3=now["children_over3"].to_numpy(float),
            now_31=now["vedtak_31"].to_numpy(float),
            now_37=now["vedtak_37"].to_numpy(float),
            u3_peak=u3[ks, child_peak],
            o3_peak=o3[ks, child_peak],
            v31_peak=v31[ks, decision_peak],
            v37_peak=v37[ks, decision_peak],
            child_peak_month=[_month(months[m]) for m in child_peak],
            decision_peak_month=[_month(months[m]) for m in decision_peak],
        )

    def facts(self, k: int, resource: str) -> dict[str, float | str]:
        """One line's figures as named values a page or export words in its own language;
        decision counts are named ``vedtak_…`` so privacy suppression finds them."""
        if resource == "resource_pedagogue":
            return {
                "vedtak_31_now": float(self.now_31[k]),
                "vedtak_37_now": float(self.now_37[k]),
                "vedtak_31_peak": round(float(self.v31_peak[k])),
                "vedtak_37_peak": round(float(self.v37_peak[k])),
                "peak_month": self.decision_peak_month[k],
            }
        facts: dict[str, float | str] = {
            "children_under3_now": float(self.now_u3[k]),
            "children_over3_now": float(self.now_o3[k]),
            "children_under3_peak": round(float(self.u3_peak[k])),
            "children_over3_peak": round(float(self.o3_peak[k])),
            "peak_month": self.child_peak_month[k],
        }
        if resource == "staff":
            return facts | {"sick_leave_share": round(float(self.sick[k]), 4)}
        return facts | {"pedagogue_need_exact": round(float(self.exact[k]), 4)}


def line_drivers(
    needs: NeedScenarios,
    now: pd.DataFrame,
    required: np.ndarray,
    current: np.ndarray,
    figures: DriverFigures | None = None,
) -> list[list[str]]:
    """(K × R) words naming the forecast that drives each line, with the numbers (medians), in
    English for the command line and the contract's ``reason``; pages word the same
    :class:`DriverFigures` themselves.

    ``required`` is (S, K, R) from :func:`required_fte`, ``current`` (K, R) FTE now. Every
    figure is computed once for all lines from the cached need arrays; only the words are
    written line by line.
    """
    f = figures if figures is not None else DriverFigures.of(needs, now, required)
    staff_i, ped_i, res_i = (
        RESOURCES.index(r) for r in ("staff", "pedagogue", "resource_pedagogue")
    )
    out: list[list[str]] = []
    for k in range(len(needs.kindergarten_ids)):
        row = [""] * len(RESOURCES)
        row[res_i] = (
            f"§ 31/§ 37 decisions {suppress_small(f.now_31[k])}/{suppress_small(f.now_37[k])} "
            f"now, {suppress_small(f.v31_peak[k])}/{suppress_small(f.v37_peak[k])} expected at "
            f"the peak ({f.decision_peak_month[k]}); {f.need_p50[k, res_i]:.1f} FTE of help "
            f"needed (p90 {f.need_p90[k, res_i]:.1f}), {current[k, res_i]:.1f} FTE now"
        )
        children = (
            f"children under/over 3 {f.now_u3[k]:.0f}/{f.now_o3[k]:.0f} now, "
            f"{f.u3_peak[k]:.0f}/{f.o3_peak[k]:.0f} expected at the peak "
            f"({f.child_peak_month[k]})"
        )
        row[staff_i] = (
            f"{children}; staffing norm needs {f.need_p50[k, staff_i]:.1f} FTE (p90 "
            f"{f.need_p90[k, staff_i]:.1f}) at {f.sick[k]:.0%} sick leave, "
            f"{current[k, staff_i]:.1f} FTE now"
        )
        row[ped_i] = (
            f"{children}; pedagogue norm needs {f.need_p50[k, ped_i]:.0f} positions (exact "
            f"{f.exact[k]:.2f}; p90 {f.need_p90[k, ped_i]:.0f}), {current[k, ped_i]:.1f} FTE now"
        )
        out.append(row)
    return out


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
