"""What two latent quantities of the SIMULATED process would be worth to the forecast of children
under 3, if a forecaster knew them: where the noise floor (``noise_floor.full_state_oracle``)
says how far *any* forecaster could go, this says which missing piece of information the gap to
it is made of.

Our median is corrected, by least squares fitted on the very rows it is scored on, with

- ``crossing``: the children who really cross the age-3 line at the first August after the
  origin (the simulator's older under-3 cohort, ``truth.crossing_next_august`` at the origin),
  less their pooled share of the under-3s at the origin, for target months from that August on
  (0 before it): how many more or fewer than usual leave the group;
- ``target``: the under-3 count the kindergarten's intake fills towards in the target month
  (``truth.target_under3``: its under-3 places at its occupancy), less our median: how far the
  August–October refill really has to go.

The data show neither: the birth cohorts are estimated from the totals
(``features.age_cohorts``) and the under-3 target from the trailing peak of the count
(``features.intake.trailing_peak``). The correction is linear, pooled and in-sample, so it is an
optimistic use of each quantity *in that form*, not a bound on every use of it (the full-state
oracle is that bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH
from features.age_cohorts import months_until
from features.calendar import KG_YEAR_START_MONTH

TARGET = "children_under3"
#: Information sets, in the order they are printed: the columns of :func:`latent_regressors`.
INFORMATION_SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "true crossing": ("crossing",),
    "true under-3 target": ("target",),
    "both": ("crossing", "target"),
}


def latent_regressors(
    rows: pd.DataFrame, truth_monthly: pd.DataFrame, monthly: pd.DataFrame
) -> pd.DataFrame:
    """``rows`` (kindergarten_id, origin, month, p50, actual: one target's scored forecasts) with
    the columns ``crossing`` and ``target`` of the module docstring (0 where the truth or the
    count at the origin is missing)."""
    truth = truth_monthly[[KINDERGARTEN_ID, MONTH, "crossing_next_august", "target_under3"]]
    at_origin = truth[[KINDERGARTEN_ID, MONTH, "crossing_next_august"]].rename(
        columns={MONTH: "origin"}
    )
    count = monthly[[KINDERGARTEN_ID, MONTH, TARGET]].rename(
        columns={MONTH: "origin", TARGET: "under3_at_origin"}
    )
    out = (
        rows.merge(at_origin, on=[KINDERGARTEN_ID, "origin"], how="left")
        .merge(count, on=[KINDERGARTEN_ID, "origin"], how="left")
        .merge(
            truth[[KINDERGARTEN_ID, MONTH, "target_under3"]],
            on=[KINDERGARTEN_ID, MONTH],
            how="left",
        )
    )
    origin = pd.PeriodIndex(out["origin"], freq="M")
    ahead = pd.PeriodIndex(out[MONTH], freq="M").asi8 - origin.asi8
    after = ahead >= months_until(origin.month, KG_YEAR_START_MONTH)  # at or past the August
    known = after & out["crossing_next_august"].notna() & out["under3_at_origin"].notna()
    share = (
        out.loc[known, "crossing_next_august"].sum() / out.loc[known, "under3_at_origin"].sum()
        if known.any()
        else 0.0
    )
    crossing = out["crossing_next_august"] - share * out["under3_at_origin"]
    out["crossing"] = np.where(known, crossing, 0.0)
    out["target"] = (out["target_under3"] - out["p50"]).fillna(0.0)
    return out.drop(columns=["crossing_next_august", "under3_at_origin", "target_under3"])


def informed_wape(rows: pd.DataFrame, columns: Sequence[str]) -> float:
    """WAPE of round(p50 + X·β), never below 0, with β the least-squares fit of actual − p50 on
    X = ``rows[columns]`` (no intercept: a column at 0 carries no information)."""
    point = rows["p50"].to_numpy(np.float64)
    actual = rows["actual"].to_numpy(np.float64)
    if columns:
        design = rows[list(columns)].to_numpy(np.float64)
        beta, *_ = np.linalg.lstsq(design, actual - point, rcond=None)
        point = np.maximum(np.rint(point + design @ beta), 0.0)
    return float(np.abs(actual - point).sum() / np.abs(actual).sum())


def partial_information_wape(simulation: Any, scored: pd.DataFrame) -> pd.Series:
    """WAPE of children under 3 per information set of :data:`INFORMATION_SETS`, on ``scored``
    (ours' scored forecasts of every target: kindergarten_id, origin, month, target, p50,
    actual)."""
    rows = scored[scored["target"] == TARGET]
    regressors = latent_regressors(rows, simulation.truth["monthly"], simulation.district.monthly)
    return pd.Series(
        {name: informed_wape(regressors, cols) for name, cols in INFORMATION_SETS.items()}
    )
