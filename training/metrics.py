"""Forecast accuracy per target × horizon × model: WAPE, MASE, pinball loss and coverage.

Definitions (over the rows of one target, horizon and model; y actual, ŷ the p50):
- WAPE = Σ|y − ŷ| / Σ|y| (share; comparable across kindergartens of different sizes);
- MASE = mean(|y − ŷ| / s), s the in-sample MAE of the seasonal naive forecast y(t) − y(t−12)
  on the data the model was fitted on (per origin and target, pooled over kindergartens);
- pinball = mean over the quantiles of the mean pinball loss (target units);
- coverage_c = share of actuals inside the central c % interval (p25–p75, p10–p90, p05–p95),
  bounds included;
- for counts that are mostly zero (:data:`RARE_COUNT_TARGETS`: staff leavers, § 37 decisions) a
  median of 0 and a WAPE near 1 say nothing, so they are scored on the forecast's *expected
  number* μ (the mean of its quantile function, :func:`mean_from_quantiles`):
  mae_mean = mean|y − μ|; scaled_pinball = pinball / s (s as in MASE); poisson_deviance =
  mean 2·(y·log(y/μ) − (y − μ)) (y·log(y/μ) = 0 at y = 0), all lower = better.

Ratios "× best baseline" compare with the best of all baselines *for each target and horizon*:
the baselines' per-horizon minimum, pooled over horizons like the model's figure.
"""

from __future__ import annotations

from typing import Any

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
    "mae_mean",
    "scaled_pinball",
    "poisson_deviance",
    "n",
)
#: Counts that are zero in most kindergarten-months: scored on the expected number, not the
#: median (``HEADLINE_METRIC``).
RARE_COUNT_TARGETS = ("staff_leavers", "vedtak_37")
#: The names the backtest gives its baselines.
BASELINE_MODELS = ("seasonal_naive", "last_value")
#: Lower-is-better metrics compared with the best baseline.
COMPARED_METRICS = ("wape", "mase", "pinball", "mae_mean", "scaled_pinball", "poisson_deviance")
#: Smallest expected number a Poisson deviance is taken at (a forecast of exactly 0 with an
#: event observed would be infinitely wrong; this keeps it finite and very large).
MIN_POISSON_MEAN = 1e-3


def headline_metric(target: str) -> str:
    """The metric a target's forecast quality is read by: the expected number's MAE for rare
    counts, WAPE of the median otherwise."""
    return "mae_mean" if target in RARE_COUNT_TARGETS else "wape"


def mean_from_quantiles(
    quantile_predictions: np.ndarray, quantiles: tuple[float, ...] = QUANTILES
) -> np.ndarray:
    """Expected value per row from its quantiles: the integral over u ∈ [0, 1] of the quantile
    function, linear between the given levels and flat beyond the outer ones (so p05 stands
    for the lowest 5 % and p95 for the highest 5 %). Values below 0 count as 0 (counts)."""
    q = np.maximum(np.asarray(quantile_predictions, dtype=float), 0.0)
    levels = np.asarray(quantiles, dtype=float)
    inner = ((q[:, 1:] + q[:, :-1]) / 2 * np.diff(levels)[None, :]).sum(axis=1)
    return inner + q[:, 0] * levels[0] + q[:, -1] * (1 - levels[-1])


def poisson_deviance(actual: np.ndarray, mean: np.ndarray) -> float:
    mu = np.maximum(np.asarray(mean, dtype=float), MIN_POISSON_MEAN)
    y = np.asarray(actual, dtype=float)
    log_term = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return float(np.mean(2 * (log_term - (y - mu))))


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
    # each group's rows taken from the columns by position: a copy of the scored rows (most of
    # a backtest's millions) would double the memory the backtest holds
    known = predictions["actual"].notna().to_numpy()
    labels = predictions.loc[known, ["target", "horizon", "model"]]
    rows_of = np.flatnonzero(known)
    columns = {
        c: predictions[c].to_numpy(float, na_value=np.nan)
        for c in ("actual", "mase_scale", *QUANTILE_COLUMNS)
    }
    rows = []
    groups: dict[Any, Any] = labels.groupby(["target", "horizon", "model"]).indices
    for keys, positions in sorted(groups.items()):
        target, horizon, model = keys
        taken = rows_of[positions]
        y = columns["actual"][taken]
        p50 = columns["p50"][taken]
        quantiles = np.column_stack([columns[c][taken] for c in QUANTILE_COLUMNS])
        scale = columns["mase_scale"][taken]
        mean = mean_from_quantiles(quantiles)
        pinball = pinball_loss(y, quantiles)
        mean_scale = float(np.nanmean(scale)) if np.isfinite(scale).any() else np.nan
        row = {
            "target": target,
            "horizon": int(str(horizon)),
            "model": model,
            "wape": wape(y, p50),
            "mase": float(np.nanmean(np.abs(y - p50) / scale)),
            "pinball": pinball,
            "mae_mean": float(np.mean(np.abs(y - mean))),
            "scaled_pinball": pinball / mean_scale if mean_scale > 0 else np.nan,
            "poisson_deviance": poisson_deviance(y, mean),
            "n": len(taken),
        }
        for name, (lo, hi) in INTERVALS.items():
            row[name] = coverage(y, columns[lo][taken], columns[hi][taken])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))


def best_baseline_by_horizon(metrics: pd.DataFrame, metric: str) -> pd.Series:
    """Per (target, horizon): the best (lowest) value of ``metric`` among the baselines."""
    baselines = metrics[metrics["model"].isin(BASELINE_MODELS)]
    return baselines.groupby(["target", "horizon"])[metric].min()


def summary_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per target and model: metrics averaged over horizons (coverage weighted by rows), the
    target's ``headline`` metric, and for each compared metric the ratio to the best baseline
    — the best of all baselines at each horizon, averaged over the same horizons (below 1 =
    better than it)."""
    metrics = metrics.copy()
    for metric in COMPARED_METRICS:
        if metric not in metrics.columns:
            metrics[metric] = np.nan
        best = best_baseline_by_horizon(metrics, metric)
        keys = pd.MultiIndex.from_frame(metrics[["target", "horizon"]])
        metrics[f"best_{metric}"] = best.reindex(keys).to_numpy()
    weighted = metrics.assign(**{c: metrics[c] * metrics["n"] for c in INTERVALS})
    grouped = weighted.groupby(["target", "model"], sort=True)
    out = grouped[[*COMPARED_METRICS, *(f"best_{m}" for m in COMPARED_METRICS)]].mean()
    n = grouped["n"].sum()
    for c in INTERVALS:
        out[c] = grouped[c].sum() / n
    out["n"] = n
    out = out.reset_index()
    for metric in COMPARED_METRICS:
        out[f"{metric}_vs_best_baseline"] = out[metric] / out.pop(f"best_{metric}")
    out.insert(2, "headline", out["target"].map(headline_metric))
    return out
