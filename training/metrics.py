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
    return poisson_deviance_sum(actual, mean) / len(actual) if len(actual) else np.nan


def poisson_deviance_sum(actual: np.ndarray, mean: np.ndarray) -> float:
    """Σ 2·(y·log(y/μ) − (y − μ)) over the rows (:func:`poisson_deviance` is its mean)."""
    mu = np.maximum(np.asarray(mean, dtype=float), MIN_POISSON_MEAN)
    y = np.asarray(actual, dtype=float)
    log_term = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return float(np.sum(2 * (log_term - (y - mu))))


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
    return float(np.mean(_pinball_terms(actual, quantile_predictions, quantiles)))


def _pinball_terms(
    actual: np.ndarray, quantile_predictions: np.ndarray, quantiles: tuple[float, ...]
) -> np.ndarray:
    diff = actual[:, None] - quantile_predictions
    q = np.asarray(quantiles)[None, :]
    return np.maximum(q * diff, (q - 1) * diff)


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


#: The keys of a metric row.
METRIC_KEYS = ("target", "horizon", "model")
#: Per (target, horizon, model), sums over the scored rows from which every metric of
#: METRIC_COLUMNS follows (:func:`metrics_from_sums`). Sums add up: a backtest scores each fold
#: as it comes and keeps of the models it does not keep the predictions of only these.
SUM_COLUMNS = (
    "n",
    "abs_actual",
    "abs_error",
    "scaled_error",
    "n_scaled",
    "pinball",
    "abs_error_mean",
    "scale",
    "n_scale",
    "poisson_deviance",
    *(f"inside_{name}" for name in ("coverage_50", "coverage_80", "coverage_90")),
)


def forecast_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    """METRIC_COLUMNS per (target, horizon, model) from predictions with ``actual`` and
    ``mase_scale`` columns; rows without an actual are left out."""
    return metrics_from_sums(metric_sums(predictions))


def metric_sums(predictions: pd.DataFrame) -> pd.DataFrame:
    """METRIC_KEYS + SUM_COLUMNS of ``predictions`` (as :func:`forecast_metrics` takes them)."""
    # each group's rows taken from the columns by position: a copy of the scored rows (most of
    # a backtest's millions) would double the memory the backtest holds
    known = predictions["actual"].notna().to_numpy()
    labels = predictions.loc[known, list(METRIC_KEYS)]
    rows_of = np.flatnonzero(known)
    columns = {
        c: predictions[c].to_numpy(float, na_value=np.nan)
        for c in ("actual", "mase_scale", *QUANTILE_COLUMNS)
    }
    rows = []
    groups: dict[Any, Any] = labels.groupby(list(METRIC_KEYS)).indices
    for keys, positions in sorted(groups.items()):
        target, horizon, model = keys
        taken = rows_of[positions]
        y = columns["actual"][taken]
        p50 = columns["p50"][taken]
        quantiles = np.column_stack([columns[c][taken] for c in QUANTILE_COLUMNS])
        scale = columns["mase_scale"][taken]
        scaled = np.abs(y - p50) / scale
        finite_scale = np.isfinite(scale)
        mean = mean_from_quantiles(quantiles)
        row = {
            "target": target,
            "horizon": int(str(horizon)),
            "model": model,
            "n": len(taken),
            "abs_actual": float(np.abs(y).sum()),
            "abs_error": float(np.abs(y - p50).sum()),
            "scaled_error": float(np.nansum(scaled)),
            "n_scaled": int((~np.isnan(scaled)).sum()),
            "pinball": pinball_sum(y, quantiles),
            "abs_error_mean": float(np.abs(y - mean).sum()),
            "scale": float(scale[finite_scale].sum()),
            "n_scale": int(finite_scale.sum()),
            "poisson_deviance": poisson_deviance_sum(y, mean),
        }
        for name, (lo, hi) in INTERVALS.items():
            lower, upper = columns[lo][taken], columns[hi][taken]
            row[f"inside_{name}"] = int(((y >= lower) & (y <= upper)).sum())
        rows.append(row)
    return pd.DataFrame(rows, columns=[*METRIC_KEYS, *SUM_COLUMNS])


def metrics_from_sums(sums: pd.DataFrame) -> pd.DataFrame:
    """METRIC_COLUMNS from :func:`metric_sums` rows, those with the same keys (a backtest's
    folds) added up first; the definitions of the module docstring."""
    total = sums.groupby(list(METRIC_KEYS), sort=True, as_index=False)[list(SUM_COLUMNS)].sum()
    n = total["n"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        abs_actual = total["abs_actual"].to_numpy(float)
        pinball = total["pinball"].to_numpy(float) / (n * len(QUANTILE_COLUMNS))
        n_scale = total["n_scale"].to_numpy(float)
        mean_scale = np.where(n_scale > 0, total["scale"].to_numpy(float) / n_scale, np.nan)
        n_scaled = total["n_scaled"].to_numpy(float)
        out = pd.DataFrame(
            {
                "target": total["target"],
                "horizon": total["horizon"].astype(int),
                "model": total["model"],
                "wape": np.where(
                    abs_actual > 0, total["abs_error"].to_numpy(float) / abs_actual, np.nan
                ),
                "mase": np.where(
                    n_scaled > 0, total["scaled_error"].to_numpy(float) / n_scaled, np.nan
                ),
                "pinball": pinball,
                **{name: total[f"inside_{name}"].to_numpy(float) / n for name in INTERVALS},
                "mae_mean": total["abs_error_mean"].to_numpy(float) / n,
                "scaled_pinball": np.where(mean_scale > 0, pinball / mean_scale, np.nan),
                "poisson_deviance": total["poisson_deviance"].to_numpy(float) / n,
                "n": total["n"].astype(int),
            }
        )
    return out[list(METRIC_COLUMNS)]


def pinball_sum(
    actual: np.ndarray, quantile_predictions: np.ndarray, quantiles: tuple[float, ...] = QUANTILES
) -> float:
    """Σ over quantiles and rows of max(q·(y − ŷ_q), (q − 1)·(y − ŷ_q)) (:func:`pinball_loss`
    is its mean)."""
    return float(np.sum(_pinball_terms(actual, quantile_predictions, quantiles)))


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
