"""The feature table laid out as a kindergarten × month grid, and the rows of one horizon on it.

Why a dense grid: shifting by h months is then a slice, not a merge, which keeps building twelve
horizon frames for 700 kindergartens cheap. Months missing for a kindergarten stay NaN (a gap is a
gap, never a zero). The frames built on it are :mod:`models.forecast.frames`'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH

SEASON_MONTHS = 12


@dataclass
class PanelGrid:
    """Kindergarten × month arrays; months run consecutively from ``months[0]``.

    ``present[k, m]`` is true where the data hold a row; the last ``n_future`` months lie beyond
    the data and carry only known-future features.
    """

    kindergarten_ids: np.ndarray
    months: pd.PeriodIndex
    present: np.ndarray
    point_in_time: np.ndarray
    point_in_time_names: list[str]
    known_future: np.ndarray
    known_future_names: list[str]
    targets: dict[str, np.ndarray]
    #: horizon-free quantities derived from ``targets`` (the intake cycles, trailing means), kept
    #: so the twelve horizons' frames estimate them once; the grid is never changed once built
    derived: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_months(self) -> int:
        return len(self.months)

    def derive(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """``compute()``, once per ``key`` for this grid."""
        if key not in self.derived:
            self.derived[key] = compute()
        return self.derived[key]

    def calendar_months(self) -> np.ndarray:
        """The calendar month (1–12, int64) of each of ``months``, taken once per grid (pandas
        builds it anew each time it is asked, and the frames ask hundreds of times a fit)."""

        def compute() -> np.ndarray:
            months = np.asarray(self.months.month, dtype=np.int64)
            months.flags.writeable = False  # shared by every caller
            return months

        months: np.ndarray = self.derive(("calendar_months",), compute)
        return months

    def month_index(self, month: pd.Period) -> int:
        return int((month - self.months[0]).n)


def _to_grid(
    values: np.ndarray,
    k_idx: np.ndarray,
    m_idx: np.ndarray,
    shape: tuple[int, int],
    dtype: type = np.float32,
) -> np.ndarray:
    out: np.ndarray = np.full(
        (*shape, values.shape[1]) if values.ndim == 2 else shape, np.nan, dtype=dtype
    )
    out[k_idx, m_idx] = values
    return out


def build_panel_grid(
    table: pd.DataFrame,
    known_future: pd.DataFrame | None,
    *,
    point_in_time_names: Sequence[str],
    known_future_names: Sequence[str],
    targets: Sequence[str],
    kindergarten_ids: Sequence[str] | None = None,
    last_month: pd.Period | None = None,
) -> PanelGrid:
    """Lay the feature table (one row per kindergarten × month present) on a dense grid.

    ``known_future`` must hold ``known_*`` values for every kindergarten and every month from the
    table's first month to ``last_month`` (which may lie beyond the data, for forecasting).
    """
    ids = np.asarray(
        sorted(table[KINDERGARTEN_ID].unique())
        if kindergarten_ids is None
        else list(kindergarten_ids),
        dtype=object,
    )
    first = table[MONTH].min()
    last = max(table[MONTH].max(), last_month) if last_month is not None else table[MONTH].max()
    months = pd.period_range(first, last, freq="M")
    shape = (len(ids), len(months))
    position = pd.Index(ids)

    k_idx = position.get_indexer(table[KINDERGARTEN_ID])
    keep = k_idx >= 0
    # every row kept (a fit's own table): no copy of the whole table through a mask of Trues
    every_row = bool(keep.all())
    k_idx = k_idx if every_row else k_idx[keep]
    m_idx = _month_offsets(table[MONTH] if every_row else table[MONTH][keep], first)
    rows = table if every_row else table[keep]
    present = np.zeros(shape, dtype=bool)
    present[k_idx, m_idx] = True
    pit = _to_grid(
        rows[list(point_in_time_names)].to_numpy(np.float32, na_value=np.nan), k_idx, m_idx, shape
    )
    target_grids = {
        t: _to_grid(rows[t].to_numpy(np.float64, na_value=np.nan), k_idx, m_idx, shape, np.float64)
        for t in targets
    }

    if known_future is None or not known_future_names:
        known = np.empty((*shape, 0), dtype=np.float32)
        return PanelGrid(
            ids, months, present, pit, list(point_in_time_names), known, [], target_grids
        )
    kf_k = position.get_indexer(known_future[KINDERGARTEN_ID])
    kf_m = _month_offsets(known_future[MONTH], first)
    inside = (kf_k >= 0) & (kf_m >= 0) & (kf_m < len(months))
    every_key = bool(inside.all())
    known = _to_grid(
        (known_future if every_key else known_future.loc[inside])[
            list(known_future_names)
        ].to_numpy(np.float32, na_value=np.nan),
        kf_k if every_key else kf_k[inside],
        kf_m if every_key else kf_m[inside],
        shape,
    )
    return PanelGrid(
        ids,
        months,
        present,
        pit,
        list(point_in_time_names),
        known,
        list(known_future_names),
        target_grids,
    )


def _month_offsets(months: pd.Series, first: pd.Period) -> np.ndarray:
    ordinals = months.astype(pd.PeriodDtype("M")).array.asi8
    return np.asarray(ordinals - first.ordinal, dtype=np.int64)


def horizon_rows(
    grid: PanelGrid,
    target: str,
    horizon: int,
    *,
    origins: np.ndarray | None = None,
    max_target_index: int | None = None,
    need_label: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(kindergarten index, origin index) of the rows :func:`horizon_frame` would build, in its
    order (kindergarten-major): present at the origin with a known value there, and with a
    known value at the target month when ``need_label``."""
    y = grid.targets[target]
    n_k, n_m = y.shape
    h = horizon
    if origins is None:
        # every origin up to the last: the leading months of the grid, read as slices (the same
        # rows in the same order as the gather below, without it)
        n_origins = max(n_m - h, 0)
        if max_target_index is not None:
            n_origins = max(min(n_origins, max_target_index - h + 1), 0)
        valid = grid.present[:, :n_origins] & ~np.isnan(y[:, :n_origins])
        if need_label:
            valid &= ~np.isnan(y[:, h : h + n_origins])
        k, t = np.nonzero(valid)
        return k.astype(np.int64, copy=False), t.astype(np.int64, copy=False)
    origin_months = np.asarray(origins, dtype=np.int64)
    origin_months = origin_months[(origin_months >= 0) & (origin_months + h < n_m)]
    if max_target_index is not None:
        origin_months = origin_months[origin_months + h <= max_target_index]
    k_all = np.repeat(np.arange(n_k), len(origin_months))
    t_all = np.tile(origin_months, n_k)
    valid = grid.present[k_all, t_all] & ~np.isnan(y[k_all, t_all])
    if need_label:
        valid &= ~np.isnan(y[k_all, t_all + h])
    return k_all[valid], t_all[valid]


def point_in_time_column(grid: PanelGrid, name: str, k: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The point-in-time column ``name`` at rows (k, t); NaN where the grid lacks it."""
    if name not in grid.point_in_time_names:
        return np.full(len(k), np.nan)
    return grid.point_in_time[k, t, grid.point_in_time_names.index(name)].astype(np.float64)


def take(y: np.ndarray, k: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``y[k, index]`` with NaN where the index falls before the grid."""
    inside = index >= 0
    out = np.full(len(k), np.nan)
    out[inside] = y[k[inside], index[inside]]
    return out
