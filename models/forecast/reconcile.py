"""Coherent district totals: the district forecast is defined bottom-up from the kindergartens.

Choice: the district p50 *is* the sum of the kindergarten p50s, so what a planner sees for her
district always adds up to what she sees per kindergarten, and stays non-negative because every
kindergarten's does. Forecasting the district total separately and pushing the difference down
would move kindergarten numbers a planner has already seen, for a gain the global model (trained
on all kindergartens at once) leaves small.

The district's other quantiles combine the kindergartens' deviations from their p50 with a
correlation ρ: d = sign · sqrt((1 − ρ)·Σ d_i² + ρ·(Σ d_i)²). ρ = 1 (the default) is the plain sum
of the kindergarten quantiles — every column adds up, a conservative (wide) district interval,
exact when errors move together (a district-wide shock such as a new refugee settlement); ρ = 0
treats kindergartens as independent (narrowest). The fitted pipeline estimates ρ per target and
horizon from its calibration residuals (``calibration_["district_correlation"]``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from data.contract import DISTRICT, FORECAST_COLUMNS, KINDERGARTEN_ID, QUANTILE_COLUMNS

DISTRICT_FORECAST_COLUMNS = (
    DISTRICT,
    "origin",
    "month",
    "horizon",
    "target",
    *QUANTILE_COLUMNS,
    "n_kindergartens",
)


def district_forecasts(
    forecasts: pd.DataFrame,
    kindergartens: pd.DataFrame,
    *,
    correlation: float | Mapping[str, Mapping[int, float]] = 1.0,
) -> pd.DataFrame:
    """Per district, origin, month and target: the sum of the kindergarten forecasts.

    ``forecasts`` has FORECAST_COLUMNS; ``kindergartens`` maps kindergarten_id → district.
    ``correlation`` is ρ (one number, or {target: {horizon: ρ}}) for the quantiles other than p50.
    Share targets (sick-leave rate) are not additive and are left out.
    """
    from data.contract import SHARE_TARGETS

    missing = [c for c in FORECAST_COLUMNS if c not in forecasts.columns]
    if missing:
        raise ValueError(f"forecasts lack columns {missing}")
    frame = forecasts[~forecasts["target"].isin(SHARE_TARGETS)].merge(
        kindergartens[[KINDERGARTEN_ID, DISTRICT]], on=KINDERGARTEN_ID, how="left"
    )
    frame[DISTRICT] = frame[DISTRICT].fillna("(unknown district)")
    keys = [DISTRICT, "origin", "month", "horizon", "target"]
    q = list(QUANTILE_COLUMNS)
    deviations = frame[q].to_numpy(float) - frame[["p50"]].to_numpy(float)
    work = frame[keys].copy()
    for i, col in enumerate(q):
        work[f"d_{col}"] = deviations[:, i]
        work[f"d2_{col}"] = deviations[:, i] ** 2
    work["p50"] = frame["p50"].to_numpy(float)
    work["n_kindergartens"] = 1
    sums = work.groupby(keys, observed=True, sort=True).sum().reset_index()

    rho = _correlations(sums, correlation)
    out = sums[keys].copy()
    for col in q:
        linear = sums[f"d_{col}"].to_numpy()
        quadratic = sums[f"d2_{col}"].to_numpy()
        spread = np.sqrt(np.maximum((1 - rho) * quadratic + rho * linear**2, 0.0))
        out[col] = sums["p50"].to_numpy() + np.sign(linear) * spread
    values = np.sort(np.maximum(out[q].to_numpy(float), 0.0), axis=1)
    out[q] = values
    out["p50"] = sums["p50"].to_numpy()
    out["n_kindergartens"] = sums["n_kindergartens"].to_numpy()
    return out[list(DISTRICT_FORECAST_COLUMNS)]


def _correlations(
    sums: pd.DataFrame, correlation: float | Mapping[str, Mapping[int, float]]
) -> np.ndarray:
    if isinstance(correlation, Mapping):
        values = [
            float(correlation.get(t, {}).get(int(h), correlation.get(t, {}).get(str(h), 1.0)))  # type: ignore[call-overload]
            for t, h in zip(sums["target"], sums["horizon"], strict=True)
        ]
        return np.clip(np.asarray(values, dtype=float), 0.0, 1.0)
    return np.full(len(sums), float(np.clip(correlation, 0.0, 1.0)))


def residual_correlation(residuals: pd.DataFrame) -> float:
    """ρ from residuals (columns origin, residual; one row per kindergarten and origin): how far
    the variance of the district's summed error lies between independence and comonotonicity."""
    return origin_residual_correlation(
        residuals["origin"].to_numpy(), residuals["residual"].to_numpy(dtype=np.float64)
    )


def origin_residual_correlation(origin: np.ndarray, residual: np.ndarray) -> float:
    """:func:`residual_correlation` of the residuals ``residual`` at origins ``origin`` (one per
    kindergarten and origin), from the arrays (no frame to build)."""
    error = np.asarray(residual, dtype=np.float64)
    finite = np.isfinite(error)
    codes = np.unique(np.asarray(origin)[finite], return_inverse=True)[1]
    error = error[finite]
    if len(error) == 0:
        return 1.0
    # per origin: (Σe)², Σe², (Σ|e|)², averaged over origins (bincount: one pass, no groupby)
    total = float(np.mean(np.bincount(codes, error) ** 2))
    independent = float(np.mean(np.bincount(codes, error**2)))
    comonotone = float(np.mean(np.bincount(codes, np.abs(error)) ** 2))
    if comonotone - independent <= 1e-12:
        return 1.0
    return float(np.clip((total - independent) / (comonotone - independent), 0.0, 1.0))
