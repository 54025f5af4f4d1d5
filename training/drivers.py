"""What drives the forecasts: LightGBM SHAP values (``pred_contrib``) summarised for researchers.

Input is the long table of :meth:`ForecastPipeline.predict_contributions` (one row per
kindergarten, target, horizon and feature rank: ``feature``, ``value``, ``contribution`` in the
target's units). Ask it for every feature (``top`` ≥ the number of features) when the overall
picture should include the small contributions too.
"""

from __future__ import annotations

import pandas as pd

from data.contract import KINDERGARTEN_ID


def overall_importance(contributions: pd.DataFrame, *, top: int = 15) -> pd.DataFrame:
    """Per target: the ``top`` features by mean absolute contribution over kindergartens and
    horizons, with the share of all absolute contribution each carries.

    Returns ``target, feature, mean_abs_contribution, share, n`` sorted by target, then
    importance. A feature absent from a row's top list counts as contributing zero there.
    """
    rows_per_target = contributions.groupby("target")[[KINDERGARTEN_ID, "horizon"]].apply(
        lambda g: len(g.drop_duplicates())
    )
    absolute = contributions.assign(abs_contribution=contributions["contribution"].abs())
    totals = absolute.groupby(["target", "feature"], as_index=False).agg(
        total=("abs_contribution", "sum"), n=("abs_contribution", "size")
    )
    totals["mean_abs_contribution"] = totals["total"] / totals["target"].map(rows_per_target)
    # a target whose p50 is its base (no booster moves it) contributes 0 in all: shares of 0
    target_total = totals.groupby("target")["total"].transform("sum")
    totals["share"] = (totals["total"] / target_total.where(target_total > 0)).fillna(0.0)
    ranked = totals.sort_values(["target", "mean_abs_contribution"], ascending=[True, False])
    return (
        ranked.groupby("target")
        .head(top)[["target", "feature", "mean_abs_contribution", "share", "n"]]
        .reset_index(drop=True)
    )


def kindergarten_drivers(
    contributions: pd.DataFrame,
    kindergarten_id: str,
    *,
    target: str,
    horizon: int,
    top: int = 10,
) -> pd.DataFrame:
    """The ``top`` drivers of one kindergarten's forecast of ``target`` at ``horizon``: feature,
    its value and its contribution (signed, target units), largest absolute first."""
    part = contributions[
        (contributions[KINDERGARTEN_ID] == kindergarten_id)
        & (contributions["target"] == target)
        & (contributions["horizon"] == horizon)
    ]
    if part.empty:
        raise ValueError(
            f"no contributions for kindergarten {kindergarten_id!r}, {target}, horizon {horizon}"
        )
    order = part["contribution"].abs().sort_values(ascending=False).index
    return part.loc[order, ["feature", "value", "contribution"]].head(top).reset_index(drop=True)
