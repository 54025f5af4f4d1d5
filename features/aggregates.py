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
    ``district_{c}_mean`` (unweighted mean over the kindergartens that report c at t).
    """
    district_codes = pd.factorize(frame[district_col].astype("string").fillna(""))[0]
    month_codes, month_values = pd.factorize(frame[month_col])
    # One integer per (district, month) cell: sums are bincounts, broadcasting is a gather.
    cell = district_codes.astype(np.int64) * max(len(month_values), 1) + month_codes
    n_cells = int(cell.max()) + 1 if len(cell) else 0

    def cell_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(cell, weights=values, minlength=n_cells)[cell]

    def numeric(column: str) -> np.ndarray:
        return pd.to_numeric(frame[column]).to_numpy(dtype=np.float64, na_value=np.nan)

    under3 = numeric(under3_col)
    children = under3 + numeric(over3_col)
    district_children = cell_sum(children)
    out: dict[str, np.ndarray] = {
        "district_kindergartens_reporting": np.bincount(cell, minlength=n_cells)[cell].astype(
            np.int32
        ),
        "district_children": district_children.astype(dtype),
        "district_children_under3": cell_sum(under3).astype(dtype),
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_of_district_children"] = (children / district_children).astype(dtype)
        for column in (c for c in rate_numerators if c in frame.columns):
            value = numeric(column)
            reported = ~np.isnan(value)
            rate = cell_sum(np.where(reported, value, 0.0)) / cell_sum(
                np.where(reported, children, 0.0)
            )
            out[f"district_{column}_per_child"] = rate.astype(dtype)
        for column in (c for c in mean_columns if c in frame.columns):
            value = numeric(column)
            reported = ~np.isnan(value)
            mean = cell_sum(np.where(reported, value, 0.0)) / cell_sum(reported.astype(float))
            out[f"district_{column}_mean"] = mean.astype(dtype)
    for array in out.values():
        if array.dtype.kind == "f":
            array[~np.isfinite(array)] = np.nan
    return pd.DataFrame(out, index=frame.index)
