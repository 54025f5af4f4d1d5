"""A target's rows before the next August shift given a median booster of their own
(``ForecastPipeline(august_split_targets=…)``, :mod:`models.forecast.august_split`): the side of
a row against a plain loop over the span's months, the median of the rows before the shift from a
median booster fitted on them alone and everything else from the regressor of every row, the
other quantiles spread around a median given, and the pipeline's
forecasts, drivers and feature importances with a split target (SIMULATED district)."""

from __future__ import annotations

import math
import pickle
import statistics

import numpy as np
import pandas as pd
import pytest

from models.forecast import ForecastPipeline
from models.forecast.august_split import (
    BEFORE_MEDIAN_LEARNING_RATE_SCALE,
    BEFORE_MEDIAN_ROUNDS_SCALE,
    HORIZON_COLUMN,
    KG_MONTH_COLUMN,
    AugustSplitRegressor,
    crosses_august,
)
from models.forecast.quantile_lgbm import QuantileLGBMRegressor
from simulate import simulate_district
from training.retrain import feature_importance_table

FAST = {"n_estimators": 30, "learning_rate": 0.15, "min_data_in_leaf": 20}


def kg_month(calendar_month: int) -> int:
    """August = 1 … July = 12."""
    return (calendar_month - 8) % 12 + 1


def test_the_side_of_a_row_is_whether_its_span_holds_an_august():
    origins = pd.period_range("2023-01", "2024-12", freq="M")
    rows, expected = [], []
    for origin in origins:
        for h in range(1, 13):
            target = origin + h
            rows.append([h, kg_month(target.month)])
            # plain loop: any month of (origin, origin + h] an August
            expected.append(any((origin + j).month == 8 for j in range(1, h + 1)))
    X = np.asarray(rows, dtype=np.float64)
    got = crosses_august(X, [HORIZON_COLUMN, KG_MONTH_COLUMN])
    np.testing.assert_array_equal(got, np.asarray(expected))


def synthetic(n: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    horizon = rng.integers(1, 13, n)
    month = rng.integers(1, 13, n)
    noise = rng.normal(size=n)
    X = np.column_stack([noise, horizon, month]).astype(np.float64)
    after = horizon >= month
    y = np.where(after, 5.0 + 2.0 * noise, -1.0 * noise) + rng.normal(scale=0.3, size=n)
    return X, y, ["x", HORIZON_COLUMN, KG_MONTH_COLUMN]


PARAMS = {"params": FAST, "quantiles": (0.1, 0.5, 0.9), "random_state": 0}


def test_rows_before_the_shift_have_a_median_of_their_own_and_every_row_the_tails():
    X, y, names = synthetic()
    split = AugustSplitRegressor(**PARAMS).fit(X, y, feature_names=names)
    after = crosses_august(X, names)
    assert 0 < after.sum() < len(after)
    got = split.predict_quantiles(X)
    every_row = QuantileLGBMRegressor(**PARAMS).fit(X, y, feature_names=names)
    faster = {
        **FAST,
        "n_estimators": math.ceil(FAST["n_estimators"] * BEFORE_MEDIAN_ROUNDS_SCALE),
        "learning_rate": FAST["learning_rate"] * BEFORE_MEDIAN_LEARNING_RATE_SCALE,
    }
    median_only = {**PARAMS, "params": faster, "quantiles": (0.5,), "booster_quantiles": None}
    before_median = QuantileLGBMRegressor(**median_only).fit(
        X[~after], y[~after], feature_names=names
    )
    np.testing.assert_array_equal(got[after], every_row.predict_quantiles(X[after]))
    # (sorted: where the median given falls outside the tails, it is not the p50)
    median = before_median.predict(X[~after])
    inside = (got[~after, 0] < median) & (median < got[~after, 2])
    assert inside.mean() > 0.5
    np.testing.assert_array_equal(got[~after, 1][inside], median[inside])
    np.testing.assert_array_equal(
        got[~after],
        every_row.predict_quantiles(X[~after], median=before_median.predict(X[~after])),
    )
    np.testing.assert_array_equal(split.predict(X), got[:, 1])
    median_drivers = split.contributions(X, 0.5)
    np.testing.assert_array_equal(median_drivers[after], every_row.contributions(X[after]))
    np.testing.assert_array_equal(median_drivers[~after], before_median.contributions(X[~after]))
    np.testing.assert_array_equal(split.contributions(X, 0.1), every_row.contributions(X, 0.1))
    assert split.has_median_booster
    assert len(split.boosters_nearest(0.5)) == 2
    assert len(split.boosters_nearest(0.9)) == 1
    # the fitted attributes are those of the regressor of every row; pickled, the same forecasts
    assert split.boosters_ is split.regressor_.boosters_
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(split)).predict_quantiles(X), got)


def test_the_early_median_learns_at_the_rate_asked_for():
    X, y, names = synthetic()
    after = crosses_august(X, names)
    rounds = math.ceil(FAST["n_estimators"] * BEFORE_MEDIAN_ROUNDS_SCALE)
    for scale in (1.0, 3.0):
        split = AugustSplitRegressor(learning_rate_scale=scale, **PARAMS).fit(
            X, y, feature_names=names
        )
        own = {**FAST, "n_estimators": rounds, "learning_rate": FAST["learning_rate"] * scale}
        alone = QuantileLGBMRegressor(
            **{**PARAMS, "params": own, "quantiles": (0.5,), "booster_quantiles": None}
        ).fit(X[~after], y[~after], feature_names=names)
        assert split.before_median_ is not None
        np.testing.assert_array_equal(
            split.before_median_.predict(X[~after]), alone.predict(X[~after])
        )
    # the default's rate is not the median's own: the two early medians differ
    default = AugustSplitRegressor(**PARAMS).fit(X, y, feature_names=names)
    own_rate = AugustSplitRegressor(learning_rate_scale=1.0, **PARAMS).fit(
        X, y, feature_names=names
    )
    assert BEFORE_MEDIAN_LEARNING_RATE_SCALE != 1.0
    assert default.before_median_ is not None and own_rate.before_median_ is not None
    assert not np.array_equal(
        default.before_median_.predict(X[~after]), own_rate.before_median_.predict(X[~after])
    )


def test_a_median_given_is_the_one_the_other_quantiles_are_spread_around():
    X, y, names = synthetic()
    quantiles = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
    regressor = QuantileLGBMRegressor(
        params=FAST, quantiles=quantiles, booster_quantiles=(0.1, 0.5, 0.9)
    ).fit(X, y, feature_names=names)
    own = regressor.predict_quantiles(X)
    raw = {q: regressor.booster_nearest(q).predict(X) for q in (0.1, 0.5, 0.9)}
    np.testing.assert_array_equal(regressor.predict_quantiles(X, median=raw[0.5]), own)
    median = raw[0.5] + 0.25
    moved = regressor.predict_quantiles(X, median=median)
    # p10 and p90 stay the boosters'; p25 is spread from the median given
    low, high = raw[0.1], raw[0.9]
    z = statistics.NormalDist().inv_cdf
    p25 = median + (low - median) * z(0.25) / z(0.1)
    p75 = median + (high - median) * z(0.75) / z(0.9)
    plain = np.column_stack([low, p25, median, p75, high])
    ordered = (np.diff(plain, axis=1) > 0).all(axis=1)  # no sorting moved them
    assert ordered.mean() > 0.5
    np.testing.assert_allclose(moved[ordered][:, 1:6], plain[ordered])


def test_without_rows_before_the_shift_the_regressor_of_every_row_predicts_all():
    X, y, names = synthetic()
    after = crosses_august(X, names)
    X, y = X[after], y[after]
    split = AugustSplitRegressor(**PARAMS).fit(X, y, feature_names=names)
    whole = QuantileLGBMRegressor(**PARAMS).fit(X, y, feature_names=names)
    # a row before the shift too
    early = np.vstack([X, [[0.5, 1.0, 6.0]]])
    np.testing.assert_array_equal(split.predict_quantiles(early), whole.predict_quantiles(early))
    assert len(split.boosters_nearest(0.5)) == 1


@pytest.fixture(scope="module")
def district():
    return simulate_district(
        "district", seed=11, n_kindergartens=12, start=pd.Period("2020-01", "M")
    ).district


def test_the_pipeline_splits_the_targets_asked_for(district):
    pipeline = ForecastPipeline(
        targets=["children_under3", "children_over3"],
        horizons=6,
        lgbm_params=FAST,
        calibration_origins=3,
        august_split_targets=("children_under3",),
    ).fit(district)
    split = pipeline.models_["children_under3"][0]
    assert isinstance(split, AugustSplitRegressor)
    assert split.learning_rate_scale is None  # the module's default
    assert pipeline.set_params(august_split_learning_rate_scale=1.5).fit(district).models_[
        "children_under3"
    ][0].learning_rate_scale == pytest.approx(1.5)
    assert isinstance(pipeline.models_["children_over3"][0], QuantileLGBMRegressor)
    out = pipeline.predict(district, horizon=6)
    assert np.isfinite(out[["p05", "p50", "p95"]].to_numpy()).all()
    assert (out["p05"] <= out["p50"]).all() and (out["p50"] <= out["p95"]).all()
    drivers = pipeline.predict_contributions(district, horizon=2, top=3)
    counts = drivers.groupby("target").size()
    assert counts["children_under3"] == counts["children_over3"] > 0
    table = feature_importance_table(pipeline)
    assert set(table["target"]) == {"children_under3", "children_over3"}
    shares = table.groupby("target")["share"].sum()
    np.testing.assert_allclose(shares.to_numpy(), 1.0)


def test_the_direct_strategy_splits_nothing(district):
    pipeline = ForecastPipeline(
        targets=["children_under3"],
        horizons=2,
        strategy="direct",
        lgbm_params=FAST,
        calibration_origins=2,
        august_split_targets=("children_under3",),
    ).fit(district)
    models = pipeline.models_["children_under3"].values()
    assert all(isinstance(m, QuantileLGBMRegressor) for m in models)
