"""Per-kindergarten outcomes of every allocation the plan was compared with (the plan, its
trade-off re-solves, the proportional key and no pool), from the very scenarios ``build_plan``
summarised.

``PlanResult.summary`` is per district. The report also shows each kindergarten and each area,
so it redraws the plan's need scenarios with the same forecasts, backtest history, kindergartens,
months, scenario count, spread and seed (the draw is deterministic), applies the allocations
the plan carries (``PlanResult.compared``), and measures each kindergarten as
:func:`models.allocation.explain.allocation_summary` measures the district. The result must add
up to the summary; :func:`check_adds_up` refuses it otherwise, so a drift between the two can
never reach a report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, RESOURCES, District
from serving.report.numbers import cell_value

#: Absolute tolerance when comparing sums with the summary (which is rounded to 4 decimals).
ADDS_UP_TOLERANCE = 1e-3


def kindergarten_outcomes(
    district: District,
    forecasts: pd.DataFrame,
    request: Any,
    plan: Any,
    *,
    pit_history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per kindergarten and allocation (``plan``, ``proportional``, ``none``) with the
    summary's measures: ``unmet_<resource>_fte_months`` and ``breach_months_<need>``.

    ``request`` is the ``serving.planning.PlanRequest`` and ``plan`` the ``PlanResult`` it made;
    a plan that carries its scenarios and compared allocations is measured on those as they are
    (nothing drawn again).
    """
    from models.needs import simulate_needs
    from serving.planning import planned_forecasts

    ids, changes = allocation_changes(district, request, plan)
    if getattr(plan, "scenarios", None) is not None:
        return measure_allocations(plan.scenarios, changes)
    start = pd.Period(request.start, "M") if request.start is not None else district.last_month + 1
    months = pd.period_range(start, periods=max(int(request.months), 1), freq="M")
    needs = simulate_needs(
        planned_forecasts(district, forecasts, months),
        kindergarten_ids=ids,
        months=months,
        current_fte=_per_line(plan.lines, "current_fte", ids),
        pit_history=pit_history,
        n_scenarios=request.n_scenarios,
        seed=request.seed,
        settings=request.norm_settings,
        spread=request.scenario_spread,
    )
    return measure_allocations(needs, changes)


def allocation_changes(
    district: District, request: Any, plan: Any
) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """The plan's kindergartens and the (K, R) extra FTE of every allocation it was compared
    with — the very arrays ``build_plan`` summarised (``plan.compared``: plan, equity weight 0,
    risk-neutral, proportional key under the same pools and budget, none), never recomputed."""
    compared = getattr(plan, "compared", None)
    if compared is None:
        raise ValueError(
            f"plan {plan.plan_id} carries no compared allocations: make it with build_plan"
        )
    ids = tuple(compared.kindergarten_ids)
    return ids, {name: compared.changes[name] for name in compared.names()}


def measure_allocations(needs: Any, changes: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per kindergarten and allocation: expected unmet FTE-months per resource and expected
    months in breach per need over ``needs``' scenarios (a ``models.needs.NeedScenarios``;
    one scenario of realised values gives the realised outcome)."""
    from models.allocation import shortfalls
    from models.allocation.curves import NeedWeights
    from models.allocation.explain import BREACH_TOLERANCE_FTE, NEED_OF_RESOURCE

    buffer = NeedWeights().quality_buffer
    frames = []
    for name, change in changes.items():
        short = shortfalls(needs, change, buffer)
        frame = pd.DataFrame({KINDERGARTEN_ID: needs.kindergarten_ids, "allocation": name})
        for resource in RESOURCES:
            need = NEED_OF_RESOURCE[resource]
            frame[f"unmet_{resource}_fte_months"] = short[need].sum(axis=2).mean(axis=0)
        for resource in RESOURCES:
            need = NEED_OF_RESOURCE[resource]
            breach = (short[need] > BREACH_TOLERANCE_FTE).sum(axis=2).mean(axis=0)
            frame[f"breach_months_{need}"] = breach
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _per_line(lines: pd.DataFrame, column: str, ids: tuple[str, ...]) -> np.ndarray:
    """(K, R) values of one plan-line column in the order of ``ids`` × RESOURCES."""
    wide = lines.pivot_table(
        index=KINDERGARTEN_ID, columns="resource", values=column, aggfunc="sum"
    )
    return wide.reindex(index=list(ids), columns=list(RESOURCES)).fillna(0.0).to_numpy(float)


def check_adds_up(outcomes: pd.DataFrame, summary: pd.DataFrame) -> None:
    """Raise ``AssertionError`` naming the cells where the kindergartens' outcomes do not add up
    to the plan summary (a bug, never a user's mistake)."""
    frame = summary.set_index("allocation") if "allocation" in summary.columns else summary
    measures = [c for c in outcomes.columns if c not in (KINDERGARTEN_ID, "allocation")]
    totals = outcomes.groupby("allocation")[measures].sum()
    wrong = []
    for allocation in totals.index:
        for measure in measures:
            if measure not in frame.columns:
                continue
            ours = cell_value(totals, allocation, measure)
            theirs = cell_value(frame, allocation, measure)
            if abs(ours - theirs) > ADDS_UP_TOLERANCE:
                wrong.append(f"{allocation}/{measure}: {ours:.4f} vs summary {theirs:.4f}")
    if wrong:
        raise AssertionError(
            "per-kindergarten outcomes do not add up to the plan summary: " + "; ".join(wrong)
        )
