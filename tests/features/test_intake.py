"""The intake-cycle projection (features.intake): plain-loop oracles for its parts, point-in-time,
and what a planner would check — it follows a clean yearly cycle exactly and beats the last value
on a simulated district."""

from __future__ import annotations

import numpy as np
import pytest

from features.intake import (
    PERSISTENCE_PRIOR_PAIRS,
    expanding_blend_weight,
    expanding_persistence,
    expanding_seasonal_index,
    intake_cycle_projection,
    seasonal_deviation,
    seasonal_index_seen,
    trailing_level,
    trailing_peak,
)


def noisy_panel(
    seed: int = 0, n_rows: int = 6, n_months: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Counts with a yearly cycle, noise and gaps; calendar months starting in March."""
    rng = np.random.default_rng(seed)
    calendar_month = (np.arange(n_months) + 2) % 12 + 1
    cycle = np.where(calendar_month == 8, 0.75, 1.0) * np.where(calendar_month == 9, 0.9, 1.0)
    level = rng.uniform(10, 40, size=(n_rows, 1))
    y = np.round(level * cycle[None, :] + rng.normal(0, 2, size=(n_rows, n_months)))
    y[rng.random(y.shape) < 0.08] = np.nan
    y[0, :14] = np.nan  # a kindergarten that opens later
    return y, calendar_month


def test_trailing_level_matches_a_plain_loop():
    y, _ = noisy_panel()
    got = trailing_level(y, window=12, min_months=9)
    expected = np.full_like(y, np.nan)
    for k in range(y.shape[0]):
        for t in range(y.shape[1]):
            window = y[k, max(0, t - 11) : t + 1]
            if np.sum(~np.isnan(window)) >= 9:
                expected[k, t] = np.nanmean(window)
    np.testing.assert_allclose(got, expected)


def test_trailing_peak_matches_a_plain_loop():
    y, _ = noisy_panel(seed=3)
    got = trailing_peak(y, window=12, min_months=9)
    expected = np.full_like(y, np.nan)
    for k in range(y.shape[0]):
        for t in range(y.shape[1]):
            window = y[k, max(0, t - 11) : t + 1]
            if not np.isnan(y[k, t]) and np.sum(~np.isnan(window)) >= 9:
                expected[k, t] = np.nanmax(window)
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[0, :20]).all(), "a kindergarten opening later has no peak before 9 months"


def test_seasonal_index_seen_matches_a_plain_loop():
    y, calendar_month = noisy_panel(seed=4)
    level = trailing_level(y, window=12, min_months=12)
    seen = seasonal_index_seen(y, level, calendar_month)
    for t in range(y.shape[1]):
        for m in range(1, 13):
            any_known = any(
                calendar_month[s] == m and not np.isnan(y[k, s] + level[k, s])
                for s in range(t + 1)
                for k in range(y.shape[0])
            )
            assert seen[t, m - 1] == any_known
    assert not seen[10].any() and seen[-1].all()


def test_seasonal_index_and_persistence_match_plain_loops():
    y, calendar_month = noisy_panel(seed=1)
    level = trailing_level(y)
    index = expanding_seasonal_index(y, level, calendar_month)
    n_rows, n_months = y.shape
    for t in range(n_months):
        for m in range(1, 13):
            top = bottom = 0.0
            for s in range(t + 1):
                for k in range(n_rows):
                    if calendar_month[s] == m and not np.isnan(y[k, s] + level[k, s]):
                        top += y[k, s]
                        bottom += level[k, s]
            assert index[t, m - 1] == pytest.approx(top / bottom if bottom > 0 else 1.0)

    h = 4
    rho = expanding_persistence(y, level, index, calendar_month, h)
    own_month_seen = False
    for t in range(n_months):
        sums = {"own": [0.0, 0.0], "all": [0.0, 0.0, 0]}
        for s in range(t - h + 1):
            known = index[s + h]
            for k in range(n_rows):
                start = y[k, s] - level[k, s] * known[calendar_month[s] - 1]
                end = y[k, s + h] - level[k, s] * known[calendar_month[s + h] - 1]
                if not np.isnan(start + end):
                    sums["all"][0] += start * end
                    sums["all"][1] += start * start
                    sums["all"][2] += 1
                    if calendar_month[s] == calendar_month[t]:
                        sums["own"][0] += start * end
                        sums["own"][1] += start * start
        if sums["all"][2] == 0:
            assert rho[t] == 0.0
            continue
        pooled = sums["all"][0] / sums["all"][1]
        prior = PERSISTENCE_PRIOR_PAIRS * sums["all"][1] / sums["all"][2]
        shrunk = (sums["own"][0] + prior * pooled) / (sums["own"][1] + prior)
        own_month_seen |= sums["own"][1] > 0 and abs(shrunk - pooled) > 1e-6
        assert rho[t] == pytest.approx(min(max(shrunk, 0.0), 1.0))
    assert own_month_seen, "the month's own pairs move ρ, not only the pooled value"

    deviation = seasonal_deviation(y, level, index, calendar_month)
    k, t = 3, 30
    assert deviation[k, t] == pytest.approx(y[k, t] - level[k, t] * index[t, calendar_month[t] - 1])


def test_projection_follows_a_clean_yearly_cycle_exactly():
    """Under-3s that drop by a quarter every August and refill by October, no noise: three
    years in, every projection 1 … 12 months ahead hits the count."""
    n_months = 60
    calendar_month = np.arange(n_months) % 12 + 1
    cycle = {8: 0.75, 9: 0.9}
    shape = np.array([cycle.get(int(m), 1.0) for m in calendar_month])
    y = np.array([20.0, 12.0, 31.0])[:, None] * shape[None, :]
    for peak_months in (None, 12):
        for h in range(1, 13):
            projected = intake_cycle_projection(y, calendar_month, h, peak_months=peak_months)
            t = np.arange(36, n_months - h)
            np.testing.assert_allclose(projected[:, t], y[:, t + h], rtol=1e-9)


def test_peak_projection_waits_for_its_seasonal_index():
    """The peak series starts 8 months in and its first whole 12-month window 11 months later:
    before that window has been seen in the origin's and the target's calendar month, the
    projection from the peak is missing (the plain one reads a placeholder index of 1)."""
    y, calendar_month = noisy_panel(seed=5, n_months=60)
    level = trailing_level(trailing_peak(y), window=12, min_months=12)
    seen = seasonal_index_seen(y, level, calendar_month)
    for h in (1, 6, 12):
        from_peak = intake_cycle_projection(y, calendar_month, h, peak_months=12)
        plain = intake_cycle_projection(y, calendar_month, h)
        for t in range(60 - h):
            known = seen[t, calendar_month[t] - 1] and seen[t, calendar_month[t + h] - 1]
            if not known:
                assert np.isnan(from_peak[:, t]).all()
            elif t > 40:
                assert np.isfinite(from_peak[1:, t]).any()
        # and the plain projection is there in some of those months: the wait is the peak's
        assert (np.isfinite(plain) & np.isnan(from_peak))[:, : 60 - h].any()


def test_projection_is_point_in_time():
    """Changing or removing the counts after month t leaves every projection made at ≤ t."""
    y, calendar_month = noisy_panel(seed=2)
    cut = 30
    altered = y.copy()
    altered[:, cut + 1 :] = np.random.default_rng(9).integers(
        0, 80, size=altered[:, cut + 1 :].shape
    )
    removed = y.copy()
    removed[:, cut + 1 :] = np.nan
    for h in (1, 5, 12):
        for level_months, peak_months in ((12, None), (36, None), (12, 12)):
            options = {"level_months": level_months, "peak_months": peak_months}
            base = intake_cycle_projection(y, calendar_month, h, **options)
            for other in (altered, removed):
                again = intake_cycle_projection(other, calendar_month, h, **options)
                np.testing.assert_array_equal(base[:, : cut + 1], again[:, : cut + 1])
    # and the alteration reaches later projections, so the comparison could fail
    later = intake_cycle_projection(altered, calendar_month, 3)[:, cut + 5]
    assert not np.allclose(later, intake_cycle_projection(y, calendar_month, 3)[:, cut + 5])


def test_projection_beats_the_last_value_on_a_simulated_district():
    """SIMULATED district: over horizons 1 … 12 the projection's absolute error, summed over
    kindergartens, is well below the last value's (which misses the August shift) for both
    children counts."""
    from models.forecast.inputs import feature_inputs
    from simulate import simulate_district

    simulation = simulate_district("district", seed=5, n_kindergartens=20)
    grid = feature_inputs(
        simulation.district, ["children_under3", "children_over3"], months_ahead=0
    ).grid
    calendar_month = np.asarray(grid.months.month, dtype=np.int64)
    for target in ("children_under3", "children_over3"):
        y = grid.targets[target]
        projection_error = last_error = 0.0
        for h in range(1, 13):
            projected = intake_cycle_projection(y, calendar_month, h, level_months=36)
            t = np.arange(grid.n_months - 36, grid.n_months - h)
            actual = y[:, t + h]
            known = ~np.isnan(actual) & ~np.isnan(projected[:, t]) & ~np.isnan(y[:, t])
            projection_error += np.abs(projected[:, t] - actual)[known].sum()
            last_error += np.abs(y[:, t] - actual)[known].sum()
        assert projection_error < 0.8 * last_error, target


def test_expanding_blend_weight_matches_a_plain_loop():
    rng = np.random.default_rng(8)
    n_rows, n_months = 300, 30
    base = rng.normal(20, 3, n_rows)
    candidate = base + rng.normal(0, 2, n_rows)
    actual = base + 0.6 * (candidate - base) + rng.normal(0, 1, n_rows)
    candidate[rng.random(n_rows) < 0.05] = np.nan
    completes = rng.integers(3, n_months, n_rows)
    got = expanding_blend_weight(base, candidate, actual, completes, n_months, prior_pairs=20.0)
    for t in range(n_months):
        top = bottom = pairs = 0.0
        for i in range(n_rows):
            if completes[i] <= t and not np.isnan(candidate[i]):
                top += (candidate[i] - base[i]) * (actual[i] - base[i])
                bottom += (candidate[i] - base[i]) ** 2
                pairs += 1
        expected = 0.0 if pairs == 0 else min(max(top / (bottom * (1 + 20.0 / pairs)), 0), 1)
        assert got[t] == pytest.approx(expected), t
    assert got[-1] == pytest.approx(0.6, abs=0.1), "finds the weight the actuals follow"
    assert (got[:3] == 0).all(), "nothing is known before the first pair completes"
    # point-in-time: actuals completing after t do not move the weight at t
    late = completes > 20
    moved = actual.copy()
    moved[late] += 50
    again = expanding_blend_weight(base, candidate, moved, completes, n_months, prior_pairs=20.0)
    np.testing.assert_array_equal(again[:21], got[:21])


@pytest.mark.parametrize("peak_months", [None, 12])
@pytest.mark.parametrize("h", [1, 5, 12])
def test_projection_at_rows_is_the_grids_projection_there(peak_months, h):
    """A frame's rows take the projection at their cells alone (and ρ kept per horizon): the
    same values the whole grid's projection holds there, the cells past the calendar's end NaN
    as there."""
    from features.intake import intake_cycle, project_intake_cycle

    y, calendar_month = noisy_panel(seed=9, n_months=60)
    cycle = intake_cycle(y, calendar_month, level_months=12, peak_months=peak_months)
    full = project_intake_cycle(cycle, y, calendar_month, h)
    rng = np.random.default_rng(h)
    k = rng.integers(0, y.shape[0], size=200)
    t = rng.integers(0, y.shape[1], size=200)  # some past the calendar's end for this horizon
    rho = expanding_persistence(y, cycle.whole, cycle.index, calendar_month, h)
    for persistence in (None, rho):
        at_rows = project_intake_cycle(
            cycle, y, calendar_month, h, rows=(k, t), persistence=persistence
        )
        np.testing.assert_array_equal(at_rows, full[k, t])
    assert np.isnan(full[k, t]).any() and not np.isnan(full[k, t]).all()
