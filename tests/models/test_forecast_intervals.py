"""The default intervals (scaled residual quantiles), whole-number medians for counts, the CQR
alternative, and fitting targets in worker processes."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
import pandas as pd
import pytest

from data.contract import QUANTILE_COLUMNS, QUANTILES
from models.forecast import ForecastPipeline
from models.forecast.levels import integer_median
from models.forecast.quantile_lgbm import boosted_quantiles, spread_quantiles
from models.forecast.residual_intervals import (
    apply_residual_offsets,
    fit_residual_offsets,
    residual_scale,
)
from simulate import simulate_district

FAST = {"n_estimators": 30, "learning_rate": 0.15, "min_data_in_leaf": 20}


def _poisson_like(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kindergartens from 5 to 120 children whose next count varies like a Poisson count."""
    anchor = rng.integers(5, 120, n).astype(float)
    median = anchor + 1.0
    actual = median + np.sqrt(anchor) * rng.standard_normal(n)
    return median, actual, anchor


def test_residual_intervals_reach_nominal_coverage_for_small_and_large_kindergartens():
    rng = np.random.default_rng(4)
    offsets = fit_residual_offsets(
        *_poisson_like(rng, 3000), target="children_under3", quantiles=QUANTILES
    )
    median, actual, anchor = _poisson_like(rng, 6000)
    q = apply_residual_offsets(
        median, anchor, offsets, target="children_under3", quantiles=QUANTILES
    )
    small, large = anchor < 30, anchor > 90
    for lo, hi, nominal in ((1, 5, 0.8), (0, 6, 0.9), (2, 4, 0.5)):
        inside = (actual >= q[:, lo]) & (actual <= q[:, hi])
        assert abs(inside.mean() - nominal) < 0.03
        # scaling by sqrt(level + 1) keeps coverage for the small and the large alike
        assert abs(inside[small].mean() - nominal) < 0.05
        assert abs(inside[large].mean() - nominal) < 0.05
    assert (np.diff(q, axis=1) >= 0).all()


def test_share_targets_are_not_scaled_and_counts_scale_with_the_square_root():
    anchor = np.array([0.0, 3.0, 99.0])
    np.testing.assert_allclose(residual_scale("children_over3", anchor), [1.0, 2.0, 10.0])
    np.testing.assert_allclose(residual_scale("sick_leave_rate", anchor), [1.0, 1.0, 1.0])


def test_count_medians_are_whole_numbers_and_quantiles_stay_ordered():
    quantiles = np.array(
        [[1.2, 1.9, 2.2, 2.4, 2.45, 3.0, 3.5], [0.0, 0.1, 0.2, 0.6, 0.7, 0.8, 2.0]]
    )
    out = integer_median(quantiles, median_column=3)
    np.testing.assert_array_equal(out[:, 3], [2.0, 1.0])
    assert (np.diff(out, axis=1) >= 0).all()
    # only quantiles that crossed the rounded median move, and only onto it
    np.testing.assert_array_equal(out[0], [1.2, 1.9, 2.0, 2.0, 2.45, 3.0, 3.5])


@pytest.fixture(scope="module")
def district():
    return simulate_district(
        "district", seed=3, n_kindergartens=8, start=pd.Period("2020-01", "M")
    ).district


def test_worker_processes_give_the_same_forecasts_as_one_process(district):
    params: dict[str, Any] = {
        "targets": ["children_under3", "vedtak_31"],
        "horizons": 3,
        "lgbm_params": FAST,
        "calibration_origins": 2,
    }
    alone = ForecastPipeline(**params, n_jobs=1).fit(district).predict(district, horizon=3)
    shared = ForecastPipeline(**params, n_jobs=2).fit(district).predict(district, horizon=3)
    pd.testing.assert_frame_equal(alone, shared)
    counts = alone[alone["target"].isin(["children_under3", "vedtak_31"])]
    assert (counts["p50"] == counts["p50"].round()).all()


def test_residual_intervals_fit_one_median_booster_and_ordered_offsets(district):
    pipeline = ForecastPipeline(
        targets=["children_over3"],
        horizons=3,
        lgbm_params=FAST,
        calibration_origins=2,
        interval_method="residual",
        n_jobs=1,
    ).fit(district)
    assert len(pipeline.models_["children_over3"][0].boosters_) == 1
    for values in pipeline.calibration_["corrections"]["children_over3"].values():
        assert values["method"] == "residual" and values["n"] > 0
        offsets = [values[repr(q)] for q in QUANTILES]
        assert offsets == sorted(offsets)  # ordered offsets: quantiles never cross
    forecasts = pipeline.predict(district, horizon=3)
    values = forecasts[list(QUANTILE_COLUMNS)].to_numpy()
    assert (np.diff(values, axis=1) >= 0).all() and (values >= 0).all()
    with pytest.raises(ValueError, match="interval_method"):
        ForecastPipeline(interval_method="bootstrap").fit(district)


def test_p10_p50_p90_get_boosters_and_the_tails_are_cheaper(district):
    pipeline = ForecastPipeline(
        targets=["children_over3"], horizons=3, lgbm_params=FAST, calibration_origins=2
    ).fit(district)
    model = pipeline.models_["children_over3"][0]
    assert list(model.boosted_quantiles_) == [0.1, 0.5, 0.9]
    rounds = [b.current_iteration() for b in model.boosters_]
    assert rounds == [15, FAST["n_estimators"], 15]
    forecasts = pipeline.predict(district, horizon=3)
    values = forecasts[list(QUANTILE_COLUMNS)].to_numpy()
    assert (np.diff(values, axis=1) >= 0).all() and (values >= 0).all()
    every = ForecastPipeline(
        targets=["children_over3"],
        horizons=3,
        lgbm_params=FAST,
        calibration_origins=2,
        booster_quantiles=None,
    ).fit(district)
    assert len(every.models_["children_over3"][0].boosters_) == len(QUANTILES)


def test_spread_quantiles_recover_a_normal_and_keep_each_sides_spread():
    levels = np.asarray(QUANTILES)
    boosted_levels = np.array([0.1, 0.5, 0.9])
    normal = [statistics.NormalDist(10.0, 2.0).inv_cdf(q) for q in boosted_levels]
    out = spread_quantiles(np.array([normal]), boosted_levels, levels)
    expected = [statistics.NormalDist(10.0, 2.0).inv_cdf(q) for q in levels]
    np.testing.assert_allclose(out[0], expected)
    # a right-skewed row: the upper quantiles spread by the upper booster, the lower by the lower
    skewed = spread_quantiles(np.array([[9.0, 10.0, 14.0]]), boosted_levels, levels)[0]
    assert skewed[QUANTILES.index(0.95)] - 10 == pytest.approx(4 * 1.6449 / 1.2816, rel=1e-3)
    assert 10 - skewed[QUANTILES.index(0.05)] == pytest.approx(1.6449 / 1.2816, rel=1e-3)


def test_booster_quantiles_must_be_forecast_quantiles_and_include_the_median():
    assert boosted_quantiles(QUANTILES, None) == list(QUANTILES)
    assert boosted_quantiles(QUANTILES, [0.9, 0.1, 0.5]) == [0.1, 0.5, 0.9]
    with pytest.raises(ValueError, match="must be among"):
        boosted_quantiles(QUANTILES, [0.2, 0.5])
    with pytest.raises(ValueError, match=r"must include 0\.5"):
        boosted_quantiles(QUANTILES, [0.1, 0.9])
