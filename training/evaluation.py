"""Forecast evaluation tables the notebooks and the benefit report share: coverage of the
central intervals (nominal against observed), accuracy per segment of kindergartens, and the
short quality summary a report rests on.

All functions take the long backtest predictions of
:func:`training.backtest.rolling_origin_backtest` (``FORECAST_COLUMNS`` + ``actual`` + ``model``)
or its metrics table, and return plain DataFrames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.contract import AREA, KINDERGARTEN_ID, MONTH, District

#: Central intervals by nominal coverage: (lower quantile column, upper quantile column).
CENTRAL_INTERVALS: dict[float, tuple[str, str]] = {
    0.5: ("p25", "p75"),
    0.8: ("p10", "p90"),
    0.9: ("p05", "p95"),
}
LOW_INCOME_TERCILES = ("lowest low-income share", "middle", "highest low-income share")
SIZE_BANDS = ("small", "medium", "large")


def wape(actual: pd.Series, forecast: pd.Series) -> float:
    """Weighted absolute percentage error: sum |actual − forecast| / sum |actual| (a share;
    NaN when every actual is zero)."""
    denominator = float(np.abs(actual).sum())
    if denominator == 0.0:
        return float("nan")
    return float(np.abs(actual - forecast).sum()) / denominator


def coverage_table(
    predictions: pd.DataFrame,
    *,
    by: tuple[str, ...] = ("target", "model"),
    intervals: dict[float, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Observed share of actuals inside each central interval, per group.

    Returns long rows ``(*by, nominal, observed, n)``: a calibrated forecaster has ``observed``
    close to ``nominal`` (0.5, 0.8, 0.9). Rows without an actual are left out of ``n``.
    """
    intervals = intervals or CENTRAL_INTERVALS
    scored = predictions.dropna(subset=["actual"])
    rows = []
    for nominal, (low, high) in intervals.items():
        if low not in scored.columns or high not in scored.columns:
            continue
        inside = (scored["actual"] >= scored[low]) & (scored["actual"] <= scored[high])
        grouped = inside.groupby([scored[c] for c in by], observed=True).agg(["mean", "size"])
        grouped = grouped.rename(columns={"mean": "observed", "size": "n"}).reset_index()
        grouped.insert(len(by), "nominal", nominal)
        rows.append(grouped)
    if not rows:
        return pd.DataFrame(columns=[*by, "nominal", "observed", "n"])
    return pd.concat(rows, ignore_index=True).sort_values([*by, "nominal"], ignore_index=True)


def kindergarten_segments(district: District) -> pd.DataFrame:
    """One row per kindergarten with the segments its errors are broken down by.

    ``low_income_tercile``: the kindergarten's *area* ranked by the mean low-income share of its
    kindergartens (areas, not single kindergartens, are how living conditions are reported; a
    kindergarten without an area is its own area). ``size_band``: capacity terciles.
    """
    kindergartens = district.kindergartens
    monthly = district.monthly
    out = kindergartens[[KINDERGARTEN_ID, "capacity"]].copy()
    if AREA in kindergartens.columns:
        out[AREA] = kindergartens[AREA].fillna(kindergartens[KINDERGARTEN_ID]).astype(str)
    else:
        out[AREA] = out[KINDERGARTEN_ID].astype(str)
    if "low_income_share" in monthly.columns:
        share = monthly.groupby(KINDERGARTEN_ID)["low_income_share"].mean()
        out["low_income_share"] = out[KINDERGARTEN_ID].map(share)
        area_share = out.groupby(AREA)["low_income_share"].mean()
        out["low_income_tercile"] = out[AREA].map(_terciles(area_share, LOW_INCOME_TERCILES))
    else:
        out["low_income_share"] = np.nan
        out["low_income_tercile"] = "unknown"
    sizes = out.set_index(KINDERGARTEN_ID)["capacity"].astype(float)
    out["size_band"] = out[KINDERGARTEN_ID].map(_terciles(sizes, SIZE_BANDS))
    return out


def _terciles(values: pd.Series, labels: tuple[str, str, str]) -> pd.Series:
    """Rank-based terciles (ties broken by order) so that small groups still split in three."""
    valid = values.dropna()
    if valid.empty:
        return pd.Series("unknown", index=values.index)
    ranks = valid.rank(method="first")
    codes = np.ceil(ranks / len(valid) * 3).clip(1, 3).astype(int) - 1
    labelled = pd.Series([labels[c] for c in codes], index=valid.index, dtype=object)
    return labelled.reindex(values.index, fill_value="unknown")


def error_by_segment(
    predictions: pd.DataFrame,
    segments: pd.DataFrame,
    *,
    segment_column: str,
    by: tuple[str, ...] = ("target", "model"),
) -> pd.DataFrame:
    """WAPE of the median and observed 80 % coverage per (``by`` …, segment).

    ``segments`` has ``kindergarten_id`` and ``segment_column`` (e.g. from
    :func:`kindergarten_segments`). Returns ``(*by, segment_column, wape, coverage_80, n)``.
    """
    scored = predictions.dropna(subset=["actual"]).merge(
        segments[[KINDERGARTEN_ID, segment_column]], on=KINDERGARTEN_ID, how="left"
    )
    scored[segment_column] = scored[segment_column].fillna("unknown")
    low, high = CENTRAL_INTERVALS[0.8]
    keys = [*by, segment_column]
    rows = []
    for key, group in scored.groupby(keys, observed=True, sort=True):
        inside = (group["actual"] >= group[low]) & (group["actual"] <= group[high])
        rows.append((*key, wape(group["actual"], group["p50"]), float(inside.mean()), len(group)))
    return pd.DataFrame(rows, columns=[*keys, "wape", "coverage_80", "n"])


def forecast_quality_summary(
    metrics: pd.DataFrame,
    *,
    model: str | None = None,
    baseline: str = "seasonal_naive",
) -> pd.DataFrame:
    """Per target: WAPE and observed 80 % coverage of ``model`` against ``baseline``, pooled
    over horizons with each horizon weighted by its number of scored rows ``n``.

    ``metrics`` is the backtest metrics table (``target, horizon, model, wape, coverage_80, n``
    …). ``model`` defaults to the model in the table that is not a baseline. Returns
    ``target, model_wape, baseline_wape, wape_ratio, model_coverage_80, baseline_coverage_80``
    (``wape_ratio`` < 1 means the model beats the baseline).
    """
    if model is None:
        candidates = [m for m in metrics["model"].unique() if m not in BASELINE_MODELS]
        if len(candidates) != 1:
            raise ValueError(f"name the model to summarise; candidates are {sorted(candidates)}")
        model = str(candidates[0])

    def pooled(name: str) -> pd.DataFrame:
        part = metrics[metrics["model"] == name]
        weights = part["n"].astype(float) if "n" in part.columns else pd.Series(1.0, part.index)
        result = {}
        for column in ("wape", "coverage_80"):
            if column not in part.columns:
                continue
            valid = part[column].notna() & (weights > 0)
            weighted = (part[column] * weights)[valid].groupby(part["target"][valid]).sum()
            result[column] = weighted / weights[valid].groupby(part["target"][valid]).sum()
        return pd.DataFrame(result)

    ours, theirs = pooled(model), pooled(baseline)
    targets = [t for t in metrics["target"].unique()]
    out = pd.DataFrame({"target": targets})
    out["model"] = model
    out["model_wape"] = out["target"].map(ours.get("wape", pd.Series(dtype=float)))
    out["baseline"] = baseline
    out["baseline_wape"] = out["target"].map(theirs.get("wape", pd.Series(dtype=float)))
    out["wape_ratio"] = out["model_wape"] / out["baseline_wape"]
    out["model_coverage_80"] = out["target"].map(ours.get("coverage_80", pd.Series(dtype=float)))
    out["baseline_coverage_80"] = out["target"].map(
        theirs.get("coverage_80", pd.Series(dtype=float))
    )
    return out


#: Names the backtest gives its baselines (never the model a report rests on).
BASELINE_MODELS = ("seasonal_naive", "last_value")


def actuals_by_month(district: District, target: str) -> pd.DataFrame:
    """The observed series of one target per kindergarten and month (for fan charts)."""
    return district.monthly[[KINDERGARTEN_ID, MONTH, target]].rename(columns={target: "actual"})
