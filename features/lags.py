"""Calendar-month lags and rolling windows on a panel that may have gaps.

A kindergarten may miss months. A lag must be a *calendar* lag (lag 1 at month t is the value at
t − 1, missing if t − 1 is a gap), never "the previous row". :class:`CalendarGrid` places each
row of a long (id, month) table on a dense id × month grid once; lags and windows are then numpy
gathers and cumulative sums on that grid, with no Python loop over kindergartens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from features.calendar import month_ordinals


@dataclass(frozen=True)
class CalendarGrid:
    """Where each row of a long panel sits on a dense (series × calendar month) grid.

    ``offsets[i]`` is row i's month minus the panel's first month; ``cells[i]`` its flat position
    in an array of shape ``(n_series, n_months)``.
    """

    codes: np.ndarray
    offsets: np.ndarray
    n_series: int
    n_months: int

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, id_col: str, month_col: str) -> CalendarGrid:
        codes, uniques = pd.factorize(frame[id_col], sort=False)
        ordinals = month_ordinals(frame[month_col])
        if len(ordinals) == 0:
            return cls(codes.astype(np.int64), ordinals, 0, 0)
        first = ordinals.min()
        offsets = ordinals - first
        grid = cls(codes.astype(np.int64), offsets, len(uniques), int(offsets.max()) + 1)
        if np.bincount(grid.cells, minlength=grid.n_series * grid.n_months).max() > 1:
            raise ValueError(f"duplicate ({id_col}, {month_col}) rows: the panel needs unique keys")
        return grid

    @cached_property
    def cells(self) -> np.ndarray:
        return self.codes * self.n_months + self.offsets

    @cached_property
    def _window_ends(self) -> np.ndarray:
        """Flat position of each row's running total in a (n_series, n_months + 1) array."""
        return self.codes * (self.n_months + 1) + self.offsets + 1

    def dense(self, values: np.ndarray) -> np.ndarray:
        """Row values → float64 grid of shape (n_series, n_months), NaN where no row exists."""
        grid = np.full(self.n_series * self.n_months, np.nan)
        grid[self.cells] = values
        return grid.reshape(self.n_series, self.n_months)

    def lag(self, dense: np.ndarray, months: int) -> np.ndarray:
        """Value ``months`` calendar months before each row (NaN for a gap or before the start)."""
        if months < 1:
            raise ValueError(f"lag must be at least 1 month, got {months}")
        return self.lags(dense, [months])[0]

    def lags(
        self, dense: np.ndarray, months: Sequence[int], dtype: type = np.float64
    ) -> list[np.ndarray]:
        """:meth:`lag` for several lags at once, as ``dtype``: the grid is padded on the left
        with as many empty months as the longest lag, so each lag is a single gather."""
        if any(k < 1 for k in months):
            raise ValueError(f"lag must be at least 1 month, got {min(months)}")
        if not months:
            return []
        pad = max(months)
        padded: np.ndarray = np.full((self.n_series, pad + self.n_months), np.nan, dtype=dtype)
        padded[:, pad:] = dense
        at = self.codes * (pad + self.n_months) + self.offsets + pad
        flat = padded.reshape(-1)
        return [flat[at - k] for k in months]

    def cumulative(self, dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Running sums of observed values and of their count along each series, with a leading
        zero column: shape (n_series, n_months + 1). Gaps and NaN add nothing."""
        observed = ~np.isnan(dense)
        running_sum = np.zeros((self.n_series, self.n_months + 1))
        running_count = np.zeros((self.n_series, self.n_months + 1))
        np.cumsum(np.where(observed, dense, 0.0), axis=1, out=running_sum[:, 1:])
        np.cumsum(observed, axis=1, out=running_count[:, 1:])
        return running_sum, running_count

    def window_sum_count(
        self,
        dense: np.ndarray,
        months: int,
        cumulative: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sum and number of observed values over the ``months`` calendar months ending at each
        row (the row's own month included); gaps and NaN are skipped. Pass ``cumulative`` (from
        :meth:`cumulative`) to reuse it across windows."""
        if months < 1:
            raise ValueError(f"window must be at least 1 month, got {months}")
        running_sum, running_count = cumulative or self.cumulative(dense)
        end = self._window_ends
        start = end - np.minimum(self.offsets + 1, months)
        flat_sum, flat_count = running_sum.reshape(-1), running_count.reshape(-1)
        return flat_sum[end] - flat_sum[start], flat_count[end] - flat_count[start]

    def window_mean(
        self,
        dense: np.ndarray,
        months: int,
        cumulative: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Mean over the ``months`` calendar months ending at each row, ignoring gaps and NaN
        (at least one observed value, else NaN)."""
        if months < 1:
            raise ValueError(f"window must be at least 1 month, got {months}")
        running_sum, running_count = cumulative or self.cumulative(dense)
        # On the dense grid, month j's window runs from max(j - months + 1, 0): subtract the
        # running total just before it (column 0 of the running totals is zero), then gather once.
        total, count = running_sum[:, 1:].copy(), running_count[:, 1:].copy()
        if months <= self.n_months:
            total[:, months:] -= running_sum[:, 1 : self.n_months - months + 1]
            count[:, months:] -= running_count[:, 1 : self.n_months - months + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
        mean[count == 0] = np.nan
        return mean.reshape(-1)[self.cells]


def lag_features(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    lags: Sequence[int],
    windows: Sequence[int],
    id_col: str,
    month_col: str,
    grid: CalendarGrid | None = None,
    dtype: type = np.float32,
) -> pd.DataFrame:
    """Calendar lags ``{col}_lag{k}`` and rolling means ``{col}_mean_{w}m`` for each column.

    The rolling mean at month t covers months t − w + 1 … t (it includes t, which is observed at
    t, so it is point-in-time). Returns a frame aligned with ``frame``'s index.
    """
    return pd.DataFrame(
        lag_feature_arrays(
            frame,
            columns,
            lags=lags,
            windows=windows,
            id_col=id_col,
            month_col=month_col,
            grid=grid,
            dtype=dtype,
        ),
        index=frame.index,
    )


def lag_feature_arrays(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    lags: Sequence[int],
    windows: Sequence[int],
    id_col: str,
    month_col: str,
    grid: CalendarGrid | None = None,
    dtype: type = np.float32,
) -> dict[str, np.ndarray]:
    """:func:`lag_features` as a dict of arrays aligned with ``frame``'s rows (no frame built)."""
    grid = grid or CalendarGrid.from_frame(frame, id_col=id_col, month_col=month_col)
    out: dict[str, np.ndarray] = {}
    for column in columns:
        dense = grid.dense(frame[column].to_numpy(dtype=np.float64, na_value=np.nan))
        for k, lagged in zip(lags, grid.lags(dense, lags, dtype), strict=True):
            out[f"{column}_lag{k}"] = lagged
        cumulative = grid.cumulative(dense)
        for w in windows:
            out[f"{column}_mean_{w}m"] = grid.window_mean(dense, w, cumulative).astype(dtype)
    return out
