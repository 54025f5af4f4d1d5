"""Targets whose p50 is their label's base (``ForecastPipeline.base_median_targets``, § 31 by
default): no median booster, the p50 the rounded base exactly, the other quantiles boosted and
calibrated on their side of it, the drivers the base alone; the parameter off gives the median
its booster back and leaves every other target as it was (SIMULATED district)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from data.contract import MONTH, QUANTILE_COLUMNS
from models.forecast import ForecastPipeline
from models.forecast.contributions import BASE_FEATURE
from models.forecast.forecasting import origin_inputs, target_origin_frames
from models.forecast.levels import BASE_MEDIAN_TARGETS
from models.forecast.quantile_lgbm import QuantileLGBMRegressor, pin_median
from simulate import simulate_district
from training.retrain import feature_importance_table

TARGETS = ["children_under3", "vedtak_31"]
FAST = {"n_estimators": 30, "learning_rate": 0.15, "min_data_in_leaf": 20}
HORIZON = 6


@pytest.fixture(scope="module")
def district():
    return simulate_district(
        "district", seed=11, n_kindergartens=12, start=pd.Period("2020-01", "M")
    ).district


@pytest.fixture(scope="module")
def based(district):
    return ForecastPipeline(
        targets=TARGETS, horizons=HORIZON, lgbm_params=FAST, calibration_origins=3
    ).fit(district)


@pytest.fixture(scope="module")
def boosted(based, district):
    return clone(based).set_params(base_median_targets=()).fit(district)


def bases(pipeline, district, target="vedtak_31"):
    """{(kindergarten, horizon): the label's base} at the last month, from the frames."""
    inputs, origin = origin_inputs(pipeline, district, HORIZON, None)
    out = {}
    for frame in target_origin_frames(pipeline, inputs, target, origin, HORIZON):
        ids = inputs.grid.kindergarten_ids[frame.kindergarten_index]
        out.update({(k, frame.horizon): b for k, b in zip(ids, frame.anchor, strict=True)})
    return out


def forecasts_of(pipeline, district, target):
    out = pipeline.predict(district, horizon=HORIZON)
    return out[out["target"] == target].set_index(["kindergarten_id", "horizon"]).sort_index()


def test_31_is_a_base_median_target_by_default():
    assert "vedtak_31" in BASE_MEDIAN_TARGETS
    assert all(ForecastPipeline().median_is_base(t) for t in BASE_MEDIAN_TARGETS)
    assert not ForecastPipeline().median_is_base("children_under3")
    # the level transform's label has no base: every median keeps its booster by default
    assert not ForecastPipeline(transform="level").median_is_base("vedtak_31")
    assert not ForecastPipeline(base_median_targets=()).median_is_base("vedtak_31")


def test_the_p50_of_31_is_the_rounded_base_exactly(based, district):
    base = bases(based, district)
    got = forecasts_of(based, district, "vedtak_31")
    expected = np.array([max(np.round(base[key]), 0.0) for key in got.index])
    assert len(got) == len(base) > 0
    np.testing.assert_array_equal(got["p50"].to_numpy(), expected)
    # the base is a whole number of decisions already (the projection is rounded)
    np.testing.assert_array_equal(expected, [base[key] for key in got.index])


def test_fit_predict_gives_the_same_base_p50(based, district):
    last = district.monthly[MONTH].max()
    out = clone(based).fit_predict(district, horizon=HORIZON)
    out = out[out["target"] == "vedtak_31"].set_index(["kindergarten_id", "horizon"])
    base = bases(based, district)
    assert (out["origin"] == last).all()
    np.testing.assert_array_equal(
        out["p50"].to_numpy(), [max(np.round(base[key]), 0.0) for key in out.index]
    )


def test_no_median_booster_is_fitted_and_the_tails_keep_theirs(based):
    model = based.models_["vedtak_31"][0]
    assert isinstance(model, QuantileLGBMRegressor)
    assert not model.has_median_booster
    assert model.boosters_[model.median_index_] is None
    others = [b for i, b in enumerate(model.boosters_) if i != model.median_index_]
    assert others and all(b is not None and b.num_trees() > 0 for b in others)
    with pytest.raises(ValueError, match="no booster"):
        model.booster_nearest(0.5)
    assert model.booster_nearest(0.1) is others[0]
    # the children keep their median booster
    assert based.models_["children_under3"][0].has_median_booster


def test_the_intervals_are_boosted_ordered_and_around_the_base(based, district):
    got = forecasts_of(based, district, "vedtak_31")
    q = got[list(QUANTILE_COLUMNS)].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()
    assert (q >= 0).all()
    assert (got["p90"] > got["p10"]).mean() > 0.5  # not collapsed onto the median
    assert based.calibration_["corrections"]["vedtak_31"].keys() == {
        str(h) for h in range(1, HORIZON + 1)
    }


def test_off_gives_the_median_its_booster_and_leaves_the_other_targets(based, boosted, district):
    model = boosted.models_["vedtak_31"][0]
    assert model.has_median_booster
    assert model.booster_nearest(0.5).num_trees() == FAST["n_estimators"]
    base = bases(boosted, district)
    p50 = forecasts_of(boosted, district, "vedtak_31")["p50"]
    assert (p50.to_numpy() != [base[key] for key in p50.index]).any()  # the booster moves it
    pd.testing.assert_frame_equal(
        forecasts_of(based, district, "children_under3"),
        forecasts_of(boosted, district, "children_under3"),
    )


def test_the_drivers_of_31_are_its_base(based, boosted, district):
    drivers = based.predict_contributions(district, horizon=2, top=3)
    v31 = drivers[drivers["target"] == "vedtak_31"]
    n_kindergartens = district.monthly.loc[
        district.monthly[MONTH] == district.monthly[MONTH].max(), "kindergarten_id"
    ].nunique()
    assert len(v31) == n_kindergartens * 2
    assert (v31["feature"] == BASE_FEATURE).all() and (v31["rank"] == 1).all()
    assert (v31["contribution"] == 0.0).all()
    base = bases(based, district)
    np.testing.assert_array_equal(
        v31["value"].to_numpy(),
        [base[(k, h)] for k, h in zip(v31["kindergarten_id"], v31["horizon"], strict=True)],
    )
    others = drivers[drivers["target"] == "children_under3"]
    assert len(others) == n_kindergartens * 2 * 3
    assert BASE_FEATURE not in set(others["feature"])
    # off: § 31's drivers are its median booster's again
    again = boosted.predict_contributions(district, horizon=2, top=3)
    assert BASE_FEATURE not in set(again["feature"])


def test_feature_importance_leaves_out_a_median_without_booster(based):
    table = feature_importance_table(based)
    assert set(table["target"]) == {"children_under3"}


def test_the_residual_method_keeps_the_base_as_median(district):
    pipeline = ForecastPipeline(
        targets=["vedtak_31"],
        horizons=3,
        lgbm_params=FAST,
        calibration_origins=2,
        interval_method="residual",
    ).fit(district)
    assert pipeline.models_["vedtak_31"][0].boosters_ == [None]
    out = pipeline.predict(district, horizon=3).set_index(["kindergarten_id", "horizon"])
    inputs, origin = origin_inputs(pipeline, district, 3, None)
    for frame in target_origin_frames(pipeline, inputs, "vedtak_31", origin, 3):
        ids = inputs.grid.kindergarten_ids[frame.kindergarten_index]
        got = out.loc[[(k, frame.horizon) for k in ids], "p50"].to_numpy()
        np.testing.assert_array_equal(got, np.maximum(np.round(frame.anchor), 0.0))
    assert (np.diff(out[list(QUANTILE_COLUMNS)].to_numpy(), axis=1) >= 0).all()


def test_bad_settings_are_refused(district):
    with pytest.raises(ValueError, match="transform 'change'"):
        ForecastPipeline(
            targets=["vedtak_31"], transform="level", base_median_targets=["vedtak_31"]
        ).fit(district)
    with pytest.raises(ValueError, match="sequence of target names"):
        ForecastPipeline(targets=["vedtak_31"], base_median_targets="vedtak_31").fit(district)


def test_pin_median_sorts_each_side_and_keeps_the_median():
    quantiles = np.array([[-1.0, 0.5, 9.0, -2.0, 3.0], [0.0, -1.0, 7.0, 4.0, 2.0]])
    median = np.array([0.0, 5.0])
    out = pin_median(quantiles, 2, median)
    np.testing.assert_array_equal(out[:, 2], median)
    np.testing.assert_array_equal(out[0], [-1.0, 0.0, 0.0, 0.0, 3.0])
    np.testing.assert_array_equal(out[1], [-1.0, 0.0, 5.0, 5.0, 5.0])
    assert (np.diff(out, axis=1) >= 0).all()
