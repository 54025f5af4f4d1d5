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

from data.contract import AREA, KINDERGARTEN_ID, MONTH, QUANTILE_COLUMNS, District
from training.metrics import (
    BASELINE_MODELS,
    RARE_COUNT_TARGETS,
    headline_metric,
    mean_from_quantiles,
)

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
    baseline: str | None = None,
    measure: str | None = None,
) -> pd.DataFrame:
    """Per target: the model against the best baseline, pooled over horizons with each horizon
    weighted by the model's number of scored rows ``n``. ``measure`` (a metrics column, e.g.
    ``poisson_deviance``) replaces each target's headline measure where the table has it.

    The best baseline is, at each horizon, the baseline (of all in the table, or only
    ``baseline`` if named) with the lowest value of the target's headline measure
    (:func:`training.metrics.headline_metric`: WAPE of the median, or for rare counts the MAE of
    the expected number). Returns ``target, measure, model, model_value, baseline,
    baseline_value, ratio`` (the headline; ``ratio`` < 1: the model beats the best baseline),
    ``model_wape, baseline_wape, wape_ratio`` (WAPE against the best baseline's WAPE at each
    horizon) and ``model_coverage_80, baseline_coverage_80`` (80 % coverage of the model and of
    the baseline that was best at each horizon).
    """
    if model is None:
        candidates = [m for m in metrics["model"].unique() if m not in BASELINE_MODELS]
        if len(candidates) != 1:
            raise ValueError(f"name the model to summarise; candidates are {sorted(candidates)}")
        model = str(candidates[0])
    baselines = [baseline] if baseline else list(BASELINE_MODELS)
    rows = []
    chosen = measure
    for target, part in metrics.groupby("target", sort=False):
        measure = chosen or headline_metric(str(target))
        if measure not in part.columns or part[measure].isna().all():
            measure = "wape"
        ours = part[part["model"] == model].set_index("horizon")
        theirs = part[part["model"].isin(baselines)]
        best = _best_per_horizon(theirs, measure)
        horizons = ours.index.intersection(best.index)
        weights = (
            ours.loc[horizons, "n"].astype(float)
            if "n" in ours.columns
            else pd.Series(1.0, index=horizons)
        )

        def pooled(values: pd.Series, weights: pd.Series = weights) -> float:
            return _pooled(values, weights)

        best_wape = theirs.groupby("horizon")["wape"].min() if "wape" in theirs else pd.Series()
        model_value, baseline_value = pooled(ours[measure]), pooled(best[measure])
        model_wape = pooled(ours["wape"]) if "wape" in ours else float("nan")
        baseline_wape = pooled(best_wape)
        rows.append(
            {
                "target": target,
                "measure": MEASURE_LABELS.get(measure, measure),
                "model": model,
                "model_value": model_value,
                "baseline": "best of " + " and ".join(b.replace("_", " ") for b in baselines),
                "baseline_value": baseline_value,
                "ratio": _ratio(model_value, baseline_value),
                "model_wape": model_wape,
                "baseline_wape": baseline_wape,
                "wape_ratio": _ratio(model_wape, baseline_wape),
                "model_coverage_80": (
                    pooled(ours["coverage_80"]) if "coverage_80" in ours else float("nan")
                ),
                "baseline_coverage_80": (
                    pooled(best["coverage_80"]) if "coverage_80" in best else float("nan")
                ),
            }
        )
    columns = [
        "target",
        "measure",
        "model",
        "model_value",
        "baseline",
        "baseline_value",
        "ratio",
        "model_wape",
        "baseline_wape",
        "wape_ratio",
        "model_coverage_80",
        "baseline_coverage_80",
    ]
    return pd.DataFrame(rows, columns=columns)


def _ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs and np.isfinite(theirs) else float("nan")


def _pooled(values: pd.Series, weights: pd.Series) -> float:
    """Mean of ``values`` over the horizons of ``weights``, weighted by them (NaN skipped)."""
    aligned = values.reindex(weights.index)
    valid = aligned.notna() & (weights > 0)
    if not valid.any():
        return float("nan")
    used = weights[valid]
    return float((aligned[valid] * used).sum() / used.sum())


def _best_per_horizon(baselines: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Per horizon, the row of the baseline with the lowest ``measure`` (indexed by horizon)."""
    scored = baselines.dropna(subset=[measure])
    if scored.empty:
        return scored.set_index("horizon")
    best = scored.loc[scored.groupby("horizon")[measure].idxmin()]
    return best.set_index("horizon")


#: How the report and notebooks name the headline measures.
MEASURE_LABELS = {
    "wape": "WAPE of the median",
    "mae_mean": "MAE of the expected number",
}


def actuals_by_month(district: District, target: str) -> pd.DataFrame:
    """The observed series of one target per kindergarten and month (for fan charts)."""
    return district.monthly[[KINDERGARTEN_ID, MONTH, target]].rename(columns={target: "actual"})


def rare_count_outlook(
    forecasts: pd.DataFrame, targets: tuple[str, ...] = RARE_COUNT_TARGETS
) -> pd.DataFrame:
    """For mostly-zero counts, the forms a planner uses: per kindergarten and target, the
    expected number over the forecast period and the probability of at least one.

    Each month's expected number μ_h is the mean of its forecast quantiles
    (:func:`training.metrics.mean_from_quantiles`); the period's is Λ = Σ μ_h, and taking the
    months' counts as Poisson, P(at least one) = 1 − exp(−Λ). ``forecasts`` is one origin's
    contract forecasts. Returns ``kindergarten_id, target, months, expected_number,
    p_at_least_one``.
    """
    rows = forecasts[forecasts["target"].isin(targets)]
    if rows.empty:
        return pd.DataFrame(
            columns=[KINDERGARTEN_ID, "target", "months", "expected_number", "p_at_least_one"]
        )
    rows = rows.assign(mean=mean_from_quantiles(rows[list(QUANTILE_COLUMNS)].to_numpy(float)))
    out = (
        rows.groupby([KINDERGARTEN_ID, "target"], sort=True)
        .agg(months=("mean", "size"), expected_number=("mean", "sum"))
        .reset_index()
    )
    out["p_at_least_one"] = 1.0 - np.exp(-out["expected_number"])
    return out
