"""The stock-flow weights of a count over a calendar span in past years (features.district_span):
against a plain loop over kindergartens and years, and point-in-time."""

from __future__ import annotations

import numpy as np
import pytest

from features.district_span import (
    MIN_STOCK_FLOW_PAIRS,
    MONTHS_PER_YEAR,
    SPAN_YEARS,
    stock_flow_coefficients,
)


def plain_fit(y: np.ndarray, level: np.ndarray, t: int, h: int, years: int) -> tuple[float, float]:
    """Least squares y(s + h) ≈ survival · y(s) + arrivals · level(s) over the past years' starts s
    whose span ended by t and the kindergartens with all three values, by numpy's solver."""
    rows, outcomes = [], []
    first = -(-h // MONTHS_PER_YEAR)
    for j in range(first, first + years):
        start, end = t - MONTHS_PER_YEAR * j, t + h - MONTHS_PER_YEAR * j
        if start < 0:
            continue
        assert end <= t
        for k in range(y.shape[0]):
            values = (y[k, start], level[k, start], y[k, end])
            if not np.isnan(values).any():
                rows.append(values[:2])
                outcomes.append(values[2])
    if len(rows) < MIN_STOCK_FLOW_PAIRS:
        return np.nan, np.nan
    survival, arrivals = np.linalg.lstsq(np.array(rows), np.array(outcomes), rcond=None)[0]
    return float(survival), float(arrivals)


@pytest.fixture
def counts() -> tuple[np.ndarray, np.ndarray]:
    """Stocks drifting around each kindergarten's own level, with an opening, a closing and a
    gap; the level a noisy copy of it (NaN at first)."""
    rng = np.random.default_rng(3)
    own = rng.uniform(0.5, 6.0, (12, 1))
    y = rng.poisson(np.repeat(own, 50, axis=1)).astype(np.float64)
    y[1, :9] = np.nan  # opened later
    y[2, 30:] = np.nan  # closed
    y[4, 17] = np.nan  # a gap
    level = own + rng.normal(0.0, 0.3, y.shape)
    level[:, :3] = np.nan
    return y, level


@pytest.mark.parametrize("years", [SPAN_YEARS, 3])
@pytest.mark.parametrize("h", [1, 5, 12, 13])
def test_matches_a_plain_loop(counts, h, years):
    y, level = counts
    survival, arrivals = stock_flow_coefficients(y, level, h, years=years)
    expected = np.array([plain_fit(y, level, t, h, years) for t in range(y.shape[1])])
    np.testing.assert_allclose(survival, expected[:, 0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(arrivals, expected[:, 1], rtol=1e-9, atol=1e-12)
    assert np.isnan(survival[: MONTHS_PER_YEAR * -(-h // MONTHS_PER_YEAR)]).all()
    assert np.isfinite(survival[-1]) and np.isfinite(arrivals[-1])


def test_weights_read_no_month_after_their_origin(counts):
    y, level = counts
    for h in (2, 12):
        full = stock_flow_coefficients(y, level, h)
        for t in (30, 40):
            cut_y, cut_level = y.copy(), level.copy()
            cut_y[:, t + 1 :] = np.nan
            cut_level[:, t + 1 :] = np.nan
            cut = stock_flow_coefficients(cut_y, cut_level, h)
            assert np.isfinite(full[0][t])
            assert cut[0][t] == pytest.approx(full[0][t])
            assert cut[1][t] == pytest.approx(full[1][t])


def test_a_stock_that_keeps_half_and_refills_to_its_level_is_recovered():
    """y(s + h) = 0.5 · y(s) + 0.5 · level exactly: the fit says so."""
    rng = np.random.default_rng(0)
    level = np.repeat(rng.uniform(1.0, 8.0, (30, 1)), 40, axis=1)
    y = rng.uniform(0.0, 10.0, (30, 40))
    h = 4
    for s in range(h, 40):
        y[:, s] = 0.5 * y[:, s - h] + 0.5 * level[:, s - h]
    survival, arrivals = stock_flow_coefficients(y, level, h)
    assert survival[-1] == pytest.approx(0.5) and arrivals[-1] == pytest.approx(0.5)


def test_too_few_pairs_give_no_weights():
    y = np.ones((3, 30))
    survival, arrivals = stock_flow_coefficients(y, y * 2.0, 3)
    assert np.isnan(survival).all() and np.isnan(arrivals).all()
