"""Intervals from out-of-sample residuals of the median model, scaled per row (split conformal).

The pipeline's ``interval_method="residual"`` (CQR is the default): one median booster per
target, and every other quantile is the p50 plus
an offset learned from the calibration round's out-of-sample residuals, per target and horizon:

    quantile_q(row) = p50(row) + r_q · s(row)

with r_q the q-th empirical quantile of the normalised residuals (y − p50) / s over the
calibration origins, and s a row's scale known at the origin:

- counts: sqrt(y(t) + 1) — counts of children and decisions vary roughly like Poisson counts, so
  a kindergarten four times the size gets intervals twice as wide, not four times;
- shares (sick-leave rate): 1 — the rate's month-to-month noise does not grow with its level.

Why it exists: one booster per target is the cheapest fit (LightGBM's time grows with rows ×
features × trees, whatever the objective), and on simulated districts the residual quantiles gave
the same 80 % coverage and a pinball loss within a few per cent. Why it is not the default: its
width follows size and horizon but not the season, so on the simulated city the August intake
left children's 80 % intervals covering only 0.70–0.75 (``benchmarks/bench_forecast.py``).

The lower quantile uses the ⌊(n + 1)·q⌋-th and the upper the ⌈(n + 1)·q⌉-th order statistic,
the finite-sample-valid split-conformal choice, so each central interval covers at least its
nominal level on exchangeable residuals.

Everything learned is plain floats in nested dicts, so pickling and MLflow keep it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from data.contract import COUNT_TARGETS
from models.forecast.conformal import conformal_correction

METHOD = "residual"


def residual_scale(target: str, anchor: np.ndarray) -> np.ndarray:
    """s(row): the scale a row's residual is divided by (see the module docstring)."""
    anchor = np.asarray(anchor, dtype=np.float64)
    if target in COUNT_TARGETS:
        return np.sqrt(np.maximum(anchor, 0.0) + 1.0)
    return np.ones_like(anchor)


def order_statistic(sorted_scores: np.ndarray, q: float) -> float:
    """The split-conformal order statistic of level ``q``: the ⌈(n + 1)q⌉-th smallest above the
    median (CQR's own :func:`~models.forecast.conformal.conformal_correction`), the ⌊(n + 1)q⌋-th
    below (clamped to the sample), the sample median at q = 0.5."""
    n = len(sorted_scores)
    if q > 0.5 or n == 0:
        return conformal_correction(sorted_scores, q)
    if q == 0.5:
        return float(np.median(sorted_scores))
    rank = math.floor((n + 1) * q)
    return float(sorted_scores[min(max(rank, 1), n) - 1])


def fit_residual_offsets(
    median: np.ndarray,
    actual: np.ndarray,
    anchor: np.ndarray,
    *,
    target: str,
    quantiles: Sequence[float],
) -> dict[str, float | int | str]:
    """Offsets r_q for one target and horizon: ``{"method": "residual", "n": n, "0.05": r, …}``,
    ``n`` the number of residuals they come from."""
    scale = residual_scale(target, anchor)
    scores = (np.asarray(actual, dtype=np.float64) - median) / scale
    scores = np.sort(scores[np.isfinite(scores)])
    result: dict[str, float | int | str] = {"method": METHOD, "n": len(scores)}
    for q in quantiles:
        result[repr(round(float(q), 6))] = order_statistic(scores, float(q))
    return result


def apply_residual_offsets(
    median: np.ndarray,
    anchor: np.ndarray,
    offsets: dict[str, float | int | str],
    *,
    target: str,
    quantiles: Sequence[float],
) -> np.ndarray:
    """(n_rows, n_quantiles) quantile forecasts from the median column and the offsets. The
    median's own offset is not added (its calibration residual median is a bias estimate from
    few origins, noisier than the model)."""
    scale = residual_scale(target, anchor)
    columns = []
    for q in quantiles:
        key = repr(round(float(q), 6))
        offset = 0.0 if abs(float(q) - 0.5) < 1e-9 else float(offsets.get(key, 0.0))
        columns.append(median + offset * scale)
    return np.sort(np.column_stack(columns), axis=1)
