"""Top drivers of a forecast: LightGBM's SHAP values (``pred_contrib``) of the p50 booster.

With the ``change`` transform the p50 booster models y(t+h) − base, so contributions explain the
expected change from the base: the last observed value (``target_last`` carries it), the
intake-cycle projection for the children counts, the trailing 12-month mean for staff leavers
(:mod:`models.forecast.frames`). A target whose p50 is the base itself has no p50 booster
(``ForecastPipeline.base_median_targets``, § 31's stock-flow projection): its one driver is
:data:`BASE_FEATURE`, the base, which nothing moves (:func:`base_drivers`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID
from models.forecast.frames import HorizonFrame
from models.forecast.quantile_lgbm import QuantileLGBMRegressor

CONTRIBUTION_COLUMNS = (
    KINDERGARTEN_ID,
    "origin",
    "month",
    "horizon",
    "target",
    "rank",
    "feature",
    "value",
    "contribution",
)
#: The driver of a forecast whose p50 is its label's base (:func:`base_drivers`).
BASE_FEATURE = "target_base"
#: The driver of an under-3 p50 lowered to stay inside approved capacity
#: (:mod:`models.forecast.capacity_bound`; ``forecasting.capacity_bound_drivers``).
CAPACITY_BOUND_FEATURE = "capacity_bound"


def top_drivers(
    model: QuantileLGBMRegressor,
    frame: HorizonFrame,
    *,
    names: Sequence[str],
    kindergarten_ids: np.ndarray,
    origin: pd.Period,
    target: str,
    top: int,
) -> pd.DataFrame:
    """For each row of ``frame``: the ``top`` features with the largest absolute contribution,
    ranked 1 … top, with the feature's value and its contribution (target units)."""
    n = len(frame.anchor)
    if n == 0:
        return pd.DataFrame(columns=list(CONTRIBUTION_COLUMNS))
    contributions = model.contributions(frame.features)[:, :-1]
    top = max(1, min(int(top), contributions.shape[1]))
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :top]
    rows = np.repeat(np.arange(n), top)
    cols = order.ravel()
    return pd.DataFrame(
        {
            KINDERGARTEN_ID: kindergarten_ids[frame.kindergarten_index][rows],
            "origin": pd.PeriodIndex([origin] * len(rows), freq="M"),
            "month": pd.PeriodIndex([origin + frame.horizon] * len(rows), freq="M"),
            "horizon": frame.horizon,
            "target": target,
            "rank": np.tile(np.arange(1, top + 1), n),
            "feature": np.asarray(names, dtype=object)[cols],
            "value": frame.features[rows, cols].astype(float),
            "contribution": contributions[rows, cols],
        }
    )


def base_drivers(
    frame: HorizonFrame,
    *,
    kindergarten_ids: np.ndarray,
    origin: pd.Period,
    target: str,
) -> pd.DataFrame:
    """For each row of ``frame`` of a target whose p50 is its label's base: one driver,
    :data:`BASE_FEATURE`, with the base as its value and a contribution of 0 (no booster moves
    the p50 off it)."""
    n = len(frame.anchor)
    return pd.DataFrame(
        {
            KINDERGARTEN_ID: kindergarten_ids[frame.kindergarten_index],
            "origin": pd.PeriodIndex([origin] * n, freq="M"),
            "month": pd.PeriodIndex([origin + frame.horizon] * n, freq="M"),
            "horizon": frame.horizon,
            "target": target,
            "rank": np.ones(n, dtype=np.int64),
            "feature": np.full(n, BASE_FEATURE, dtype=object),
            "value": frame.anchor.astype(float),
            "contribution": np.zeros(n),
        },
        columns=list(CONTRIBUTION_COLUMNS),
    )
