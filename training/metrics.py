"""Forecast accuracy per target × horizon × model: WAPE, MASE, pinball loss and coverage.

Definitions (over the rows of one target, horizon and model; y actual, ŷ the p50):
- WAPE = Σ|y − ŷ| / Σ|y| (share; comparable across kindergartens of different sizes);
- MASE = mean(|y − ŷ| / s), s the in-sample MAE of the seasonal naive forecast y(t) − y(t−12)
  on the data the model was fitted on (per origin and target, pooled over kindergartens);
- pinball = mean over the quantiles of the mean pinball loss (target units);
- coverage_c = share of actuals inside the central c % interval (p25–p75, p10–p90, p05–p95),
  bounds included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.contract import MONTH, QUANTILE_COLUMNS, QUANTILES, District

METRIC_COLUMNS = (
    "target",
    "horizon",
    "model",
    "wape",
    "mase",
    "pinball",
    "coverage_50",
    "coverage_80",
    "coverage_90",
    "n",
)
INTERVALS = {
    "coverage_50": ("p25", "p75"),
    "coverage_80": ("p10", "p90"),
    "coverage_90": ("p05", "p95"),
}


def wape(actual: np.ndarray, point: np.ndarray) -> float:
    denominator = float(np.abs(actual).sum())
    return float(np.abs(actual - point).sum() / denominator) if denominator > 0 else np.nan


def pinball_loss(
    actual: np.ndarray, quantile_predictions: np.ndarray, quantiles: tuple[float, ...] = QUANTILES
) -> float:
    """Mean over quantiles and rows of max(q·(y − ŷ_q), (q − 1)·(y − ŷ_q))."""
    diff = actual[:, None] - quantile_predictions
    q = np.asarray(quantiles)[None, :]
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean((actual >= lower) & (actual <= upper))) if len(actual) else np.nan


def seasonal_naive_scale(district: District, targets: list[str]) -> dict[str, float]:
    """In-sample MAE of y(t) − y(t−12) per target, pooled over kindergartens (MASE's scale)."""
    monthly = district.monthly
    scales = {}
    for target in targets:
        values = monthly[["kindergarten_id", MONTH, target]].dropna()
        lagged = values.assign(**{MONTH: values[MONTH] + 12})
        pairs = values.merge(lagged, on=["kindergarten_id", MONTH], suffixes=("", "_lag"))
        mae = float((pairs[target] - pairs[f"{target}_lag"]).abs().mean()) if len(pairs) else np.nan
        scales[target] = mae if mae > 0 else np.nan
    return scales


def forecast_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    """METRIC_COLUMNS per (target, horizon, model) from predictions with ``actual`` and
    ``mase_scale`` columns; rows without an actual are left out."""
    scored = predictions.dropna(subset=["actual"])
    rows = []
    for keys, group in scored.groupby(["target", "horizon", "model"], sort=True):
        target, horizon, model = keys
        y = group["actual"].to_numpy(float)
        p50 = group["p50"].to_numpy(float)
        row = {
            "target": target,
            "horizon": int(str(horizon)),
            "model": model,
            "wape": wape(y, p50),
            "mase": float(np.nanmean(np.abs(y - p50) / group["mase_scale"].to_numpy(float))),
            "pinball": pinball_loss(y, group[list(QUANTILE_COLUMNS)].to_numpy(float)),
            "n": len(group),
        }
        for name, (lo, hi) in INTERVALS.items():
            row[name] = coverage(y, group[lo].to_numpy(float), group[hi].to_numpy(float))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))


def summary_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per target and model: metrics averaged over horizons (coverage weighted by rows), and the
    ratio of WAPE, MASE and pinball loss to the best baseline's (below 1 = better than it)."""
    weighted = metrics.assign(**{c: metrics[c] * metrics["n"] for c in INTERVALS})
    grouped = weighted.groupby(["target", "model"], sort=True)
    out = grouped[["wape", "mase", "pinball"]].mean()
    n = grouped["n"].sum()
    for c in INTERVALS:
        out[c] = grouped[c].sum() / n
    out["n"] = n
    out = out.reset_index()
    baselines = out[out["model"].isin(("seasonal_naive", "last_value"))]
    for metric in ("wape", "mase", "pinball"):
        best = baselines.groupby("target")[metric].min()
        out[f"{metric}_vs_best_baseline"] = out[metric] / out["target"].map(best)
    return out
