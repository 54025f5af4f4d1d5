"""A rate's seasonal level: each kindergarten's own level plus the district's season, as known at
each month (sick leave).

A sick-leave rate is a kindergarten's lasting level (its staff, its work environment), a season
the whole district shares (winter illness, summer holidays) and short-lived noise that fades
within months. Its last value is therefore a poor base for the months ahead: one bad month says
little about the next year. At month t, from values up to t only:

- ``level[k, t]``: the mean of kindergarten k's rate over its last ``level_months`` months;
- ``season[t, m]``: the district's mean departure from those levels in calendar month m over the
  last ``season_months`` months (all kindergartens pooled: a season estimated per kindergarten
  from two or three values per month is mostly noise);
- the seasonal level of month t + h is ``level[k, t] + season[t, month(t + h)]``;
- ``persistence[t, h]``: how much of a month's departure from its seasonal level is left h
  months on, the least-squares slope of departure(τ + h) on departure(τ) over all kindergartens
  and the last ``season_months`` months (τ + h ≤ t); the noise fades, a lasting change (a
  kindergarten short of staff) stays.

On the tuning seeds 1–3 of both simulator families (2 rolling origins) the seasonal level over 60
months plus the persistent part of the last departure, with no model at all, had a sick-leave
WAPE of 0.128 (cohort) and 0.207 (capacity) against 0.277 and 0.309 from the last value
(benchmarks/README.md, 2026-12-06).
"""

from __future__ import annotations

import numpy as np

from features.intake import trailing_level

#: Months of a kindergarten's own history in its level, and of the district's in its season and
#: persistence: five years of level average out the noise (on the tuning seeds 1–3 the seasonal
#: level plus the persistent departure had a WAPE of 0.128 / 0.207 from 60 months, 0.134 / 0.210
#: from 36 and 0.137 / 0.211 from 24, cohort / capacity family, 2 origins); three years of
#: season weigh each calendar month three times.
LEVEL_MONTHS = 60
SEASON_MONTHS = 36
MONTHS_PER_YEAR = 12


def seasonal_level(
    y: np.ndarray,
    calendar_month: np.ndarray,
    *,
    level_months: int = LEVEL_MONTHS,
    season_months: int = SEASON_MONTHS,
) -> tuple[np.ndarray, np.ndarray]:
    """``(level, season)`` of a kindergarten × month grid ``y`` (NaN where unknown), with
    ``calendar_month[t]`` in 1–12: ``level`` as ``y`` (NaN before a kindergarten's first value),
    ``season`` of shape (months, 12), indexed by calendar month − 1 (0 where the window holds no
    value of that month). Both use columns ≤ t only."""
    level = trailing_level(y, window=level_months, min_months=1)
    n_months = y.shape[1]
    month_index = np.asarray(calendar_month, dtype=np.int64) - 1
    season = np.zeros((n_months, MONTHS_PER_YEAR))
    for t in range(n_months):
        start = max(0, t + 1 - season_months)
        departure = y[:, start : t + 1] - level[:, t, None]
        present = ~np.isnan(departure)
        months = np.broadcast_to(month_index[start : t + 1], departure.shape)[present]
        total = np.bincount(months, weights=departure[present], minlength=MONTHS_PER_YEAR)
        count = np.bincount(months, minlength=MONTHS_PER_YEAR)
        season[t] = np.divide(total, count, out=np.zeros(MONTHS_PER_YEAR), where=count > 0)
    return level, season


def departures(
    y: np.ndarray, level: np.ndarray, season: np.ndarray, calendar_month: np.ndarray
) -> np.ndarray:
    """Each value's departure from its own month's seasonal level as known at that month."""
    month_index = np.asarray(calendar_month, dtype=np.int64) - 1
    return y - (level + season[np.arange(y.shape[1]), month_index][None, :])


def persistence(departure: np.ndarray, horizons: int, *, window: int = SEASON_MONTHS) -> np.ndarray:
    """``persistence[t, h]`` for h = 0 … ``horizons`` (1 at h = 0; 0 where no pair is known):
    the slope through the origin of departure(τ + h) on departure(τ), pooled over kindergartens,
    for τ ≥ t − ``window`` and τ + h ≤ t."""
    n_months = departure.shape[1]
    out = np.zeros((n_months, horizons + 1))
    out[:, 0] = 1.0
    known = ~np.isnan(departure)
    values = np.where(known, departure, 0.0)
    t = np.arange(n_months)
    for h in range(1, min(horizons, n_months - 1) + 1):
        # per τ, summed over kindergartens known at τ and τ + h: the pairs' products and squares
        both = known[:, :-h] & known[:, h:]
        products = np.concatenate(
            [[0.0], np.cumsum((values[:, :-h] * values[:, h:] * both).sum(0))]
        )
        squares = np.concatenate([[0.0], np.cumsum((values[:, :-h] ** 2 * both).sum(0))])
        # pairs τ = max(0, t − window) … t − h, as cumulative sums over τ
        first = np.minimum(np.maximum(0, t - window), len(products) - 1)
        last = np.clip(t - h + 1, 0, None)  # one past the last τ
        usable = last > first
        top = np.where(usable, products[last] - products[first], 0.0)
        bottom = np.where(usable, squares[last] - squares[first], 0.0)
        out[:, h] = np.divide(top, bottom, out=np.zeros(n_months), where=bottom > 0)
    return out


def seasonal_level_at(
    level: np.ndarray,
    season: np.ndarray,
    calendar_month: np.ndarray,
    k: np.ndarray,
    t: np.ndarray,
    horizon: int,
) -> np.ndarray:
    """The seasonal level of month t + ``horizon`` for rows (k, t), as known at t."""
    target_month = np.asarray(calendar_month, dtype=np.int64)[t + horizon] - 1
    return level[k, t] + season[t, target_month]
