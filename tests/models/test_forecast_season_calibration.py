"""Conformal corrections per regime of the forecast's span (models.forecast.conformal): target
months right after an August age shift the span crosses, later ones and spans without a shift
calibrated apart, on hand-made forecasts."""

from __future__ import annotations

import numpy as np
import pytest

from models.forecast.conformal import (
    BY_REGIME,
    BY_SEASON,
    MIN_SEASON_ROWS,
    RECENT_SHIFT_MONTHS,
    SHIFT_MONTH,
    apply_calibration,
    apply_season_calibration,
    fit_calibration,
    fit_season_calibration,
    months_since_shift,
    season_masks,
    shift_regime_masks,
)

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def months_since_shift_loop(target_month: int, horizon: int) -> int:
    """Walk the span month by month from the origin: the last August passed, or −1."""
    origin = (target_month - horizon - 1) % 12 + 1
    since = -1
    month = origin
    for _ in range(horizon):
        month = month % 12 + 1
        since = 0 if month == SHIFT_MONTH else (since + 1 if since >= 0 else -1)
    return since


@pytest.mark.parametrize("horizon", [1, 2, 3, 5, 11, 12, 13, 24])
def test_months_since_shift_matches_a_plain_walk_over_the_span(horizon: int) -> None:
    months = np.arange(1, 13)
    expected = [months_since_shift_loop(int(m), horizon) for m in months]
    np.testing.assert_array_equal(months_since_shift(months, horizon), expected)


def test_regimes_split_the_rows_and_put_august_alone_at_horizon_one() -> None:
    months = np.arange(1, 13)
    for horizon in range(1, 25):
        masks = shift_regime_masks(months, horizon)
        stacked = np.vstack(list(masks.values()))
        assert (stacked.sum(axis=0) == 1).all(), horizon  # every row in exactly one regime
    one = shift_regime_masks(months, 1)
    assert months[one["recent_shift"]].tolist() == [SHIFT_MONTH]  # forecast from July
    assert not one["later"].any()
    assert months[shift_regime_masks(months, 3)["recent_shift"]].tolist() == [8, 9, 10]
    twelve = shift_regime_masks(months, 12)
    assert not twelve["no_shift"].any()  # a year ahead every span crosses an August
    assert twelve["recent_shift"].sum() == RECENT_SHIFT_MONTHS


def forecasts(n: int, seed: int, horizon: int = 1):
    """Every row the same interval around 20 children; outcomes spread three times wider in the
    target month of a shift the span crosses (at horizon 1: August alone) than elsewhere."""
    rng = np.random.default_rng(seed)
    month = rng.integers(1, 13, n)
    recent = shift_regime_masks(month, horizon)["recent_shift"]
    actual = 20 + rng.normal(0, np.where(recent, 6.0, 2.0))
    predicted = np.tile(20 + np.array([-4, -3, -1.5, 0, 1.5, 3, 4], dtype=float), (n, 1))
    return predicted, actual, month, recent


def coverage(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean((actual >= predicted[:, 1]) & (actual <= predicted[:, 5])))


def test_each_regime_covers_what_it_should_where_one_correction_cannot() -> None:
    predicted, actual, month, _ = forecasts(24000, 0)
    pooled = fit_calibration(predicted, actual, target="children_under3", quantiles=QUANTILES)
    fitted = fit_season_calibration(
        predicted, actual, month, horizon=1, target="children_under3", quantiles=QUANTILES
    )
    assert set(fitted[BY_REGIME]) == {"no_shift", "recent_shift"}  # no later months at h = 1
    test_predicted, test_actual, test_month, test_recent = forecasts(24000, 1)
    one = apply_calibration(test_predicted, pooled, target="children_under3", quantiles=QUANTILES)
    split = apply_season_calibration(
        test_predicted,
        fitted,
        test_month,
        horizon=1,
        target="children_under3",
        quantiles=QUANTILES,
    )
    # one correction: far under 80 % in August, over it elsewhere
    assert coverage(one[test_recent], test_actual[test_recent]) < 0.6
    assert coverage(one[~test_recent], test_actual[~test_recent]) > 0.82
    for rows in (test_recent, ~test_recent):
        assert coverage(split[rows], test_actual[rows]) == pytest.approx(0.8, abs=0.04)
    assert (np.diff(split, axis=1) >= 0).all()


def test_the_calendar_split_left_august_under_covered_at_horizon_one() -> None:
    """Why the regimes replaced August–October against the rest: at horizon 1 that season mixed
    the August jump with two calm months, and August covered far under 80 %."""
    predicted, actual, month, recent = forecasts(24000, 4)
    shift = season_masks(month)["shift"]
    old = apply_calibration(
        predicted,
        fit_calibration(predicted[shift], actual[shift], target="children_under3"),
        target="children_under3",
    )
    assert coverage(old[recent], actual[recent]) < 0.7
    new = apply_season_calibration(
        predicted,
        fit_season_calibration(predicted, actual, month, horizon=1, target="children_under3"),
        month,
        horizon=1,
        target="children_under3",
    )
    assert coverage(new[recent], actual[recent]) == pytest.approx(0.8, abs=0.04)


def test_a_regime_with_too_few_rows_keeps_the_pooled_correction() -> None:
    predicted, actual, month, _ = forecasts(400, 2)
    month = np.where(month == SHIFT_MONTH, 1, month)  # no August at all …
    month[: MIN_SEASON_ROWS - 1] = SHIFT_MONTH  # … but a few
    fitted = fit_season_calibration(
        predicted, actual, month, horizon=1, target="children_under3", quantiles=QUANTILES
    )
    assert set(fitted[BY_REGIME]) == {"no_shift"}
    out = apply_season_calibration(
        predicted, fitted, month, horizon=1, target="children_under3", quantiles=QUANTILES
    )
    pooled = apply_calibration(predicted, fitted, target="children_under3", quantiles=QUANTILES)
    few = month == SHIFT_MONTH
    np.testing.assert_allclose(out[few], pooled[few])


def test_corrections_from_before_regimes_apply_as_they_did() -> None:
    predicted, actual, month, _ = forecasts(500, 3)
    old = fit_calibration(predicted, actual, target="children_over3", quantiles=QUANTILES)
    np.testing.assert_allclose(
        apply_season_calibration(
            predicted, old, month, horizon=4, target="children_over3", quantiles=QUANTILES
        ),
        apply_calibration(predicted, old, target="children_over3", quantiles=QUANTILES),
    )
    # corrections split by calendar season (fitted until 2026-12-07) apply by season
    shift = season_masks(month)["shift"]
    seasons = {
        "shift": fit_calibration(predicted[shift], actual[shift], target="children_over3"),
        "rest": fit_calibration(predicted[~shift], actual[~shift], target="children_over3"),
    }
    by_season = {**old, BY_SEASON: seasons}
    out = apply_season_calibration(
        predicted, by_season, month, horizon=4, target="children_over3", quantiles=QUANTILES
    )
    for name, rows in (("shift", shift), ("rest", ~shift)):
        np.testing.assert_allclose(
            out[rows],
            apply_calibration(predicted[rows], seasons[name], target="children_over3"),
        )
