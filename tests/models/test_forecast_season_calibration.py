"""Conformal corrections per season (models.forecast.conformal): target months right after the age
shift calibrated apart from the rest of the year, on hand-made forecasts."""

from __future__ import annotations

import numpy as np
import pytest

from models.forecast.conformal import (
    BY_SEASON,
    MIN_SEASON_ROWS,
    apply_calibration,
    apply_season_calibration,
    fit_calibration,
    fit_season_calibration,
)

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def forecasts(n: int, seed: int):
    """Every row the same interval around 20 children; outcomes spread three times wider in
    August–October than in the rest of the year."""
    rng = np.random.default_rng(seed)
    month = rng.integers(1, 13, n)
    shift = np.isin(month, (8, 9, 10))
    actual = 20 + rng.normal(0, np.where(shift, 6.0, 2.0))
    predicted = np.tile(20 + np.array([-4, -3, -1.5, 0, 1.5, 3, 4], dtype=float), (n, 1))
    return predicted, actual, month, shift


def coverage(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean((actual >= predicted[:, 1]) & (actual <= predicted[:, 5])))


def test_each_season_covers_what_it_should_where_one_correction_cannot() -> None:
    predicted, actual, month, _ = forecasts(4000, 0)
    pooled = fit_calibration(predicted, actual, target="children_under3", quantiles=QUANTILES)
    seasonal = fit_season_calibration(
        predicted, actual, month, target="children_under3", quantiles=QUANTILES
    )
    assert set(seasonal[BY_SEASON]) == {"shift", "rest"}
    test_predicted, test_actual, test_month, test_shift = forecasts(4000, 1)
    one = apply_calibration(test_predicted, pooled, target="children_under3", quantiles=QUANTILES)
    two = apply_season_calibration(
        test_predicted, seasonal, test_month, target="children_under3", quantiles=QUANTILES
    )
    # one correction: about 80 % overall, far under it after the shift and over it elsewhere
    assert coverage(one[test_shift], test_actual[test_shift]) < 0.7
    assert coverage(one[~test_shift], test_actual[~test_shift]) > 0.85
    for season in (test_shift, ~test_shift):
        assert coverage(two[season], test_actual[season]) == pytest.approx(0.8, abs=0.03)
    assert (np.diff(two, axis=1) >= 0).all()


def test_a_season_with_too_few_rows_keeps_the_pooled_correction() -> None:
    predicted, actual, month, _ = forecasts(400, 2)
    month = np.where(np.isin(month, (8, 9, 10)), 1, month)  # no shift months at all …
    month[: MIN_SEASON_ROWS - 1] = 9  # … but a few
    seasonal = fit_season_calibration(
        predicted, actual, month, target="children_under3", quantiles=QUANTILES
    )
    assert set(seasonal[BY_SEASON]) == {"rest"}
    out = apply_season_calibration(
        predicted, seasonal, month, target="children_under3", quantiles=QUANTILES
    )
    pooled = apply_calibration(predicted, seasonal, target="children_under3", quantiles=QUANTILES)
    few = month == 9
    np.testing.assert_allclose(out[few], pooled[few])


def test_corrections_from_before_seasons_apply_as_they_did() -> None:
    predicted, actual, month, _ = forecasts(500, 3)
    old = fit_calibration(predicted, actual, target="children_over3", quantiles=QUANTILES)
    np.testing.assert_allclose(
        apply_season_calibration(
            predicted, old, month, target="children_over3", quantiles=QUANTILES
        ),
        apply_calibration(predicted, old, target="children_over3", quantiles=QUANTILES),
    )
