"""Baselines that run beside every model, in the same output format.

- ``LastValue``: y(t) for every horizon.
- ``SeasonalNaive``: y(t + h − 12), the value in the same calendar month a year before the
  target month (it carries the August shift), falling back to y(t) where that month is missing.

Their quantiles come from their own empirical errors on the training data (per target and
horizon, over the last ``residual_months`` origins), so pinball loss and coverage compare with the
model's on equal terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from data.contract import (
    COUNT_TARGETS,
    FORECAST_COLUMNS,
    KINDERGARTEN_ID,
    MONTH,
    QUANTILE_COLUMNS,
    QUANTILES,
    SHARE_TARGETS,
    District,
)
from models.forecast.frames import SEASON_MONTHS, PanelGrid
from models.forecast.inputs import as_of, check_horizon, resolve_targets, target_grid


class _NaiveForecaster(BaseEstimator):
    seasonal = False

    def __init__(
        self,
        *,
        targets: Sequence[str] | None = None,
        horizons: int = 12,
        quantiles: Sequence[float] = QUANTILES,
        residual_months: int = 36,
    ) -> None:
        self.targets = targets
        self.horizons = horizons
        self.quantiles = quantiles
        self.residual_months = residual_months

    def _point(
        self, grid: PanelGrid, target: str, k: np.ndarray, t: np.ndarray, h: int
    ) -> np.ndarray:
        y = grid.targets[target]
        last = y[k, t]
        if not self.seasonal:
            return last
        index = t + h - SEASON_MONTHS
        same_month = np.full(len(k), np.nan)
        inside = index >= 0
        same_month[inside] = y[k[inside], index[inside]]
        return np.where(np.isnan(same_month), last, same_month)

    def fit(self, district: District) -> _NaiveForecaster:
        """Learn the error quantiles of the point forecast per target and horizon."""
        targets = resolve_targets(district, self.targets)
        grid = target_grid(district, targets, months_ahead=0)
        n_k, n_m = grid.present.shape
        first_origin = max(0, n_m - 1 - int(self.residual_months))
        offsets: dict[str, dict[str, list[float]]] = {}
        for target in targets:
            y = grid.targets[target]
            offsets[target] = {}
            for h in range(1, self.horizons + 1):
                origins = np.arange(first_origin, n_m - h)
                k = np.repeat(np.arange(n_k), len(origins))
                t = np.tile(origins, n_k)
                errors = y[k, t + h] - self._point(grid, target, k, t, h)
                errors = errors[np.isfinite(errors)]
                qs = (
                    np.quantile(errors, self.quantiles)
                    if len(errors)
                    else np.zeros(len(self.quantiles))
                )
                offsets[target][str(h)] = [float(v) for v in qs]
        self.error_quantiles_ = offsets
        self.targets_ = targets
        return self

    def predict(
        self, district: District, *, horizon: int = 12, origin: pd.Period | None = None
    ) -> pd.DataFrame:
        """FORECAST_COLUMNS for every kindergarten with data at ``origin`` (default: last month)."""
        check_is_fitted(self, "error_quantiles_")
        check_horizon(horizon, self.horizons)
        origin = district.monthly[MONTH].max() if origin is None else pd.Period(origin, freq="M")
        grid = target_grid(as_of(district, origin), self.targets_, months_ahead=horizon)
        t_origin = grid.month_index(origin)
        parts = []
        for target in self.targets_:
            k = np.flatnonzero(
                grid.present[:, t_origin] & ~np.isnan(grid.targets[target][:, t_origin])
            )
            t = np.full(len(k), t_origin)
            for h in range(1, horizon + 1):
                point = self._point(grid, target, k, t, h)
                values = point[:, None] + np.asarray(self.error_quantiles_[target][str(h)])
                if target in COUNT_TARGETS:
                    values = np.maximum(values, 0.0)
                elif target in SHARE_TARGETS:
                    values = np.clip(values, 0.0, 1.0)
                part = pd.DataFrame(np.sort(values, axis=1), columns=list(QUANTILE_COLUMNS))
                part.insert(0, KINDERGARTEN_ID, grid.kindergarten_ids[k])
                part.insert(1, "origin", pd.PeriodIndex([origin] * len(k), freq="M"))
                part.insert(2, "month", pd.PeriodIndex([origin + h] * len(k), freq="M"))
                part.insert(3, "horizon", h)
                part.insert(4, "target", target)
                parts.append(part)
        out = pd.concat(parts, ignore_index=True)
        return out.sort_values([KINDERGARTEN_ID, "target", "horizon"], ignore_index=True)[
            list(FORECAST_COLUMNS)
        ]


class LastValue(_NaiveForecaster):
    """Every horizon forecast as the last observed value."""

    seasonal = False


class SeasonalNaive(_NaiveForecaster):
    """The value 12 months before the target month, else the last observed value."""

    seasonal = True


BASELINES = {"seasonal_naive": SeasonalNaive, "last_value": LastValue}
