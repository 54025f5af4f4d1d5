"""features.seasonal_level against plain loops, point-in-time, and in the sick-leave frames."""

from __future__ import annotations

import numpy as np
import pytest

from features.seasonal_level import (
    persistence,
    seasonal_level,
    seasonal_level_at,
)


def _grid(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_k, n_m = 5, 50
    y = 0.1 + 0.02 * rng.standard_normal((n_k, n_m))
    y[rng.random((n_k, n_m)) < 0.15] = np.nan  # gaps
    y[3, :20] = np.nan  # a kindergarten opening late
    calendar_month = (np.arange(n_m) + 4) % 12 + 1  # the grid starts in May
    return y, calendar_month


def _plain(y: np.ndarray, calendar_month: np.ndarray, w_level: int, w_season: int):
    n_k, n_m = y.shape
    level = np.full((n_k, n_m), np.nan)
    for k in range(n_k):
        for t in range(n_m):
            values = [
                y[k, s] for s in range(max(0, t - w_level + 1), t + 1) if not np.isnan(y[k, s])
            ]
            if values:
                level[k, t] = sum(values) / len(values)
    season = np.zeros((n_m, 12))
    for t in range(n_m):
        for m in range(1, 13):
            departures = [
                y[k, s] - level[k, t]
                for k in range(n_k)
                for s in range(max(0, t - w_season + 1), t + 1)
                if calendar_month[s] == m and not np.isnan(y[k, s]) and not np.isnan(level[k, t])
            ]
            if departures:
                season[t, m - 1] = sum(departures) / len(departures)
    return level, season


@pytest.mark.parametrize(("w_level", "w_season"), [(36, 36), (12, 24)])
def test_seasonal_level_matches_plain_loops(w_level: int, w_season: int) -> None:
    y, calendar_month = _grid()
    level, season = seasonal_level(y, calendar_month, level_months=w_level, season_months=w_season)
    expected_level, expected_season = _plain(y, calendar_month, w_level, w_season)
    np.testing.assert_allclose(level, expected_level, atol=1e-12)
    np.testing.assert_allclose(season, expected_season, atol=1e-12)
    k, t = np.array([0, 3, 4]), np.array([30, 25, 10])
    ahead = seasonal_level_at(level, season, calendar_month, k, t, 5)
    expected = [
        expected_level[kk, tt] + expected_season[tt, calendar_month[tt + 5] - 1]
        for kk, tt in zip(k, t, strict=True)
    ]
    np.testing.assert_allclose(ahead, expected, atol=1e-12)


def test_seasonal_level_is_point_in_time() -> None:
    y, calendar_month = _grid()
    level, season = seasonal_level(y, calendar_month)
    cut = 30
    changed = y.copy()
    changed[:, cut + 1 :] += 0.5  # the future changes
    level2, season2 = seasonal_level(changed, calendar_month)
    np.testing.assert_array_equal(level[:, : cut + 1], level2[:, : cut + 1])
    np.testing.assert_array_equal(season[: cut + 1], season2[: cut + 1])


def test_a_shared_season_is_recovered() -> None:
    # each kindergarten its own level, one season for all, no noise: the seasonal level of any
    # month is exact once three years are seen
    n_m = 60
    calendar_month = np.arange(n_m) % 12 + 1
    shape = 0.02 * np.sin(2 * np.pi * calendar_month / 12)
    shape -= shape.mean()
    levels = np.array([0.08, 0.1, 0.13])
    y = levels[:, None] + shape[None, :]
    level, season = seasonal_level(y, calendar_month)
    k = np.arange(3)
    t = np.full(3, 40)
    for h in (1, 6, 12):
        np.testing.assert_allclose(
            seasonal_level_at(level, season, calendar_month, k, t, h), y[:, 40 + h], atol=1e-12
        )


def test_persistence_matches_plain_loops() -> None:
    rng = np.random.default_rng(5)
    departure = rng.standard_normal((4, 40))
    departure[rng.random((4, 40)) < 0.1] = np.nan
    out = persistence(departure, 5, window=12)
    np.testing.assert_array_equal(persistence(departure, 5, window=3)[:, 4:], 0.0)  # window < h
    for t in (0, 3, 20, 39):
        assert out[t, 0] == 1.0
        for h in range(1, 6):
            pairs = [
                (departure[k, s], departure[k, s + h])
                for k in range(4)
                for s in range(max(0, t - 12), t + 1 - h)
                if not np.isnan(departure[k, s]) and not np.isnan(departure[k, s + h])
            ]
            spread = sum(a * a for a, _ in pairs)
            expected = sum(a * b for a, b in pairs) / spread if spread > 0 else 0.0
            assert out[t, h] == pytest.approx(expected, abs=1e-12)
