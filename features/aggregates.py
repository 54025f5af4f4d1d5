"""District aggregates at month t, from the rows of month t only (point-in-time).

A district's practice in granting § 31/§ 37 decisions differs from its neighbours' (DOMAIN.md), and
children move between a district's kindergartens, so each kindergarten's figures are set against
its district's in the same month. A kindergarten with a gap at t is simply absent from its
district's sum at t; ``district_kindergartens_reporting`` says how many rows the sums cover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def district_aggregates(
    frame: pd.DataFrame,
    *,
    district_col: str,
    month_col: str,
    under3_col: str = "children_under3",
    over3_col: str = "children_over3",
    rate_numerators: tuple[str, ...] = ("vedtak_31", "vedtak_37", "waiting_list"),
    mean_columns: tuple[str, ...] = ("sick_leave_rate",),
    dtype: type = np.float32,
) -> pd.DataFrame:
    """District totals and rates per (district, month), broadcast to each row.

    Columns: ``district_kindergartens_reporting``, ``district_children`` (under 3 + over 3),
    ``district_children_under3``, ``share_of_district_children`` (this kindergarten's children
    over its district's); for each present numerator c, ``district_{c}_per_child`` = Σ c / Σ
    children over the kindergartens that report c at t; for each present mean column c,
    ``district_{c}_mean`` (unweighted mean over reporting kindergartens).
    """
    children = frame[under3_col].astype("float64") + frame[over3_col].astype("float64")
    work = pd.DataFrame(
        {
            "g_district": frame[district_col].astype("string").fillna(""),
            "g_month": frame[month_col],
            "children": children,
            "under3": frame[under3_col].astype("float64"),
        },
        index=frame.index,
    )
    present_numerators = [c for c in rate_numerators if c in frame.columns]
    present_means = [c for c in mean_columns if c in frame.columns]
    for column in present_numerators:
        value = frame[column].astype("float64")
        work[f"num_{column}"] = value
        work[f"den_{column}"] = children.where(value.notna())
    for column in present_means:
        work[f"mean_{column}"] = frame[column].astype("float64")

    grouped = work.groupby(["g_district", "g_month"], sort=False, observed=True)
    sums = grouped[
        [c for c in work.columns if c.startswith(("num_", "den_"))] + ["children", "under3"]
    ].transform("sum")
    out: dict[str, np.ndarray] = {
        "district_kindergartens_reporting": grouped["children"].transform("size").to_numpy(),
        "district_children": sums["children"].to_numpy(),
        "district_children_under3": sums["under3"].to_numpy(),
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_of_district_children"] = children.to_numpy() / sums["children"].to_numpy()
        for column in present_numerators:
            out[f"district_{column}_per_child"] = (
                sums[f"num_{column}"].to_numpy() / sums[f"den_{column}"].to_numpy()
            )
    for column in present_means:
        out[f"district_{column}_mean"] = grouped[f"mean_{column}"].transform("mean").to_numpy()
    result = pd.DataFrame(out, index=frame.index)
    result = result.replace([np.inf, -np.inf], np.nan)
    return result.astype(
        {c: dtype for c in result.columns if c != "district_kindergartens_reporting"}
    ).astype({"district_kindergartens_reporting": np.int32})
