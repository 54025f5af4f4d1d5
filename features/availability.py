"""Values as they were known at each month: coarse periods and publication lags (CONTRACT.md,
"Point in time").

A value of a period ending in month e, published L months later, is known from month e + L. At
month t the latest known value of a column is therefore the value of the latest period whose end
is at most t − L; for a monthly column without lag that is simply the value at t. Features are
computed from these *as-known* values, so a yearly share published six months after the year, or
a quarterly sick-leave rate published a month after the quarter, never reaches a feature before
it was published.

The quality table is long (one row per kindergarten, month and indicator); :func:`known_quality`
gives, per kindergarten and month, the latest value of each indicator known by then.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.lineage import Publication
from data.periods import MONTHS_PER_PERIOD, period_end_of_month
from features.lags import CalendarGrid


def last_known_month(ordinals: np.ndarray, publication: Publication) -> np.ndarray:
    """For each month t (ordinal), the last month of the latest period known at t."""
    shifted = np.asarray(ordinals, dtype=np.int64) - publication.lag
    end = period_end_of_month(shifted, publication.every)
    incomplete = end > shifted
    return np.where(incomplete, end - MONTHS_PER_PERIOD[publication.every], end)


def as_known(
    values: np.ndarray, grid: CalendarGrid, ordinals: np.ndarray, publication: Publication
) -> np.ndarray:
    """Each row's column value as known at its month (NaN when nothing was published yet).

    A coarse period's value holds for each of its months, so the latest observed month of the
    period stands for it when its last month is a gap."""
    if publication.is_immediate or len(values) == 0:
        return values
    dense = grid.dense(values)
    first = int(ordinals[0] - grid.offsets[0])  # the grid's first month (ordinal)
    per_period = MONTHS_PER_PERIOD[publication.every]
    if per_period > 1:
        dense = _fill_within_periods(dense, first, publication.every)
    month = last_known_month(ordinals, publication)
    offset = month - first
    inside = (offset >= 0) & (offset < grid.n_months)
    flat = dense.reshape(-1)
    out = np.full(len(values), np.nan)
    cells = grid.codes[inside] * grid.n_months + offset[inside]
    out[inside] = flat[cells]
    return out


def _fill_within_periods(dense: np.ndarray, first: int, every: str) -> np.ndarray:
    """Each month of a period takes the period's value (the last observed one in the period)."""
    n_months = dense.shape[1]
    months = first + np.arange(n_months)
    period = period_end_of_month(months, every)
    out = dense.copy()
    frame = pd.DataFrame(dense.T)
    frame["period"] = period
    filled = frame.groupby("period").transform("last")
    out[:, :] = filled.to_numpy().T
    return out


def known_quality(
    quality: pd.DataFrame,
    lineage: pd.DataFrame | None,
    indicators: list[str],
    ids: np.ndarray,
    ordinals: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per row (kindergarten ``ids``, month ``ordinals``), the latest value of each indicator
    whose publication month (its month + the source's lag) is at most the row's month."""
    from data.lineage import publication

    keys = pd.DataFrame({"kindergarten_id": ids, "ordinal": ordinals, "row": np.arange(len(ids))})
    keys = keys.sort_values("ordinal", kind="stable")
    out: dict[str, np.ndarray] = {}
    for indicator in indicators:
        rows = quality[quality["indicator"] == indicator]
        lag = publication(lineage, "quality", indicator).lag
        known = pd.DataFrame(
            {
                "kindergarten_id": rows["kindergarten_id"].astype(str).to_numpy(),
                "ordinal": rows["month"].array.asi8 + lag,  # type: ignore[attr-defined]
                "value": rows["value"].to_numpy(dtype=float),
            }
        ).sort_values("ordinal", kind="stable")
        merged = pd.merge_asof(
            keys, known, on="ordinal", by="kindergarten_id", direction="backward"
        )
        values = np.full(len(ids), np.nan)
        values[merged["row"].to_numpy()] = merged["value"].to_numpy(dtype=float)
        out[indicator] = values
    return out
