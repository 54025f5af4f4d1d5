"""Judge allocations on what really happened: on a simulated district whose last months were
hidden from the model, measure each allocation against the realised children, decisions and sick
leave of those months, and find the oracle — the best allocation of the same pools had the
future been known.

The realised months form a single "scenario", so :func:`serving.report.outcomes.measure_allocations`
measures them exactly as it measures forecast scenarios; the oracle is ``build_plan`` given the
truth as a forecast with no spread, so it uses the very same optimiser, pools and budget.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH, QUANTILE_COLUMNS, District
from serving.report.outcomes import allocation_changes, measure_allocations

ORACLE = "oracle"
REALISED_TARGETS = (
    "children_under3",
    "children_over3",
    "vedtak_31",
    "vedtak_37",
    "sick_leave_rate",
)


def _realised_grid(
    hidden: pd.DataFrame, kindergarten_ids: tuple[str, ...], months: pd.PeriodIndex
) -> dict[str, np.ndarray]:
    """(K, M) realised values per target; a month missing for a kindergarten takes its nearest
    known value (carried forward, then back), a target absent from the data is zero."""
    index = pd.MultiIndex.from_product(
        [list(kindergarten_ids), list(months)], names=[KINDERGARTEN_ID, MONTH]
    )
    frame = hidden.set_index([KINDERGARTEN_ID, MONTH]).reindex(index)
    out = {}
    for target in REALISED_TARGETS:
        if target not in frame.columns:
            out[target] = np.zeros((len(kindergarten_ids), len(months)))
            continue
        values = (
            frame[target]
            .astype(float)
            .groupby(level=0)
            .transform(lambda s: s.ffill().bfill())
            .fillna(0.0)
        )
        out[target] = values.to_numpy().reshape(len(kindergarten_ids), len(months))
    return out


def realised_needs(
    hidden: pd.DataFrame,
    kindergarten_ids: tuple[str, ...],
    months: pd.PeriodIndex,
    current_fte: np.ndarray,
    settings: Any = None,
) -> Any:
    """A ``models.needs.NeedScenarios`` with one scenario: the realised months."""
    from models.needs import NeedScenarios
    from models.norms import NormSettings

    grid = _realised_grid(hidden, kindergarten_ids, months)
    return NeedScenarios(
        kindergarten_ids=tuple(kindergarten_ids),
        months=months,
        children_under3=grid["children_under3"][None],
        children_over3=grid["children_over3"][None],
        vedtak_31=grid["vedtak_31"][None],
        vedtak_37=grid["vedtak_37"][None],
        sick_leave_rate=grid["sick_leave_rate"][None],
        current_fte=np.asarray(current_fte, dtype=float),
        settings=settings or NormSettings(),
        source="realised (simulated ground truth)",
    )


def truth_as_forecasts(
    hidden: pd.DataFrame,
    kindergarten_ids: tuple[str, ...],
    months: pd.PeriodIndex,
    origin: pd.Period,
) -> pd.DataFrame:
    """The realised months as contract forecasts with every quantile equal to the truth."""
    months = pd.PeriodIndex(months, freq="M")
    grid = _realised_grid(hidden, kindergarten_ids, months)
    parts = []
    for target, values in grid.items():
        k, m = np.meshgrid(np.arange(len(kindergarten_ids)), np.arange(len(months)), indexing="ij")
        part = pd.DataFrame(
            {
                KINDERGARTEN_ID: np.asarray(kindergarten_ids, dtype=object)[k.ravel()],
                "origin": origin,
                MONTH: months[m.ravel()],
                "horizon": m.ravel() + (months[0] - origin).n,
                "target": target,
            }
        )
        for column in QUANTILE_COLUMNS:
            part[column] = values.ravel()
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def realised_outcomes(
    district: District, hidden: pd.DataFrame, request: Any, plan: Any, *, with_oracle: bool = True
) -> pd.DataFrame:
    """Per kindergarten and allocation (plan, proportional, none and — with ``with_oracle`` —
    oracle): realised unmet FTE-months per resource and months in breach per need, on the hidden
    months ``hidden`` of a district whose seen part is ``district``."""
    from serving.planning import build_plan
    from serving.report.outcomes import _per_line

    ids, changes = allocation_changes(district, request, plan)
    start = pd.Period(request.start, "M") if request.start is not None else district.last_month + 1
    months = pd.period_range(start, periods=int(request.months), freq="M")
    current = _per_line(plan.lines, "current_fte", ids)
    if with_oracle:
        truth = truth_as_forecasts(hidden, ids, months, district.last_month)
        oracle = build_plan(
            district,
            truth,
            replace(request, n_scenarios=1),
            pit_history=None,
            model_version="oracle (knows the realised months)",
        )
        changes[ORACLE] = _per_line(oracle.lines, "change_fte", ids)
    needs = realised_needs(hidden, ids, months, current, request.norm_settings)
    return measure_allocations(needs, changes)
