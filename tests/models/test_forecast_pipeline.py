"""ForecastPipeline behaviour on a small simulated district: the contract's format, sane values,
point-in-time forecasts, bad input, persistence and explanations."""

from __future__ import annotations

import pickle
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from data.contract import FORECAST_COLUMNS, MONTH, QUANTILE_COLUMNS
from data.errors import UserInputError
from models.forecast import ForecastPipeline
from models.forecast.conformal import BY_REGIME, SHIFT_REGIMES
from simulate import simulate_district

TARGETS = ["children_under3", "vedtak_31", "sick_leave_rate"]
FAST = {"n_estimators": 30, "learning_rate": 0.15, "min_data_in_leaf": 20}


@pytest.fixture(scope="module")
def district():
    return simulate_district(
        "district", seed=7, n_kindergartens=10, start=pd.Period("2020-01", "M")
    ).district


@pytest.fixture(scope="module")
def fitted(district):
    return ForecastPipeline(
        targets=TARGETS, horizons=6, lgbm_params=FAST, calibration_origins=3
    ).fit(district)


@pytest.fixture(scope="module")
def forecasts(fitted, district):
    return fitted.predict(district, horizon=6)


def test_forecasts_follow_the_contract(forecasts, district):
    assert list(forecasts.columns) == list(FORECAST_COLUMNS)
    last = district.monthly[MONTH].max()
    at_origin = district.monthly.loc[district.monthly[MONTH] == last, "kindergarten_id"]
    # one row per kindergarten with data at the origin, target and horizon 1…6
    assert len(forecasts) == at_origin.nunique() * len(TARGETS) * 6
    assert set(forecasts["horizon"]) == set(range(1, 7))
    assert (forecasts["origin"] == last).all()
    assert (forecasts["month"] == forecasts["origin"] + forecasts["horizon"]).all()


def test_quantiles_ordered_counts_non_negative_shares_bounded(forecasts):
    q = forecasts[list(QUANTILE_COLUMNS)].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()
    counts = forecasts[forecasts["target"] != "sick_leave_rate"]
    assert (counts[list(QUANTILE_COLUMNS)].to_numpy() >= 0).all()
    shares = forecasts[forecasts["target"] == "sick_leave_rate"][list(QUANTILE_COLUMNS)]
    assert ((shares.to_numpy() >= 0) & (shares.to_numpy() <= 1)).all()


def test_children_forecast_stays_near_the_kindergartens_size(forecasts, district):
    """A one-month-ahead median within a few children of the last count (no wild jumps)."""
    last = district.monthly[district.monthly[MONTH] == district.monthly[MONTH].max()]
    h1 = forecasts[(forecasts["target"] == "children_under3") & (forecasts["horizon"] == 1)]
    merged = h1.merge(last[["kindergarten_id", "children_under3"]], on="kindergarten_id")
    assert (merged["p50"] - merged["children_under3"]).abs().max() < 8


def test_calibration_is_plain_data_per_target_and_horizon(fitted):
    corrections = fitted.calibration_["corrections"]
    assert set(corrections) == set(TARGETS)
    for target in TARGETS:
        assert set(corrections[target]) == {str(h) for h in range(1, 7)}
        for values in corrections[target].values():
            assert {"0.9", "0.8", "0.5", "n"} <= set(values)
            regimes = values.get(BY_REGIME, {})
            assert set(regimes) <= set(SHIFT_REGIMES)
            for part in (values, *regimes.values()):
                assert all(isinstance(v, float | int) for k, v in part.items() if k != BY_REGIME)
    assert fitted.n_months_required_ == 12 + 6 + 3 + 6


def test_point_in_time_forecast_ignores_data_after_the_origin(fitted, district):
    origin = district.monthly[MONTH].max() - 5
    altered_monthly = district.monthly.copy()
    later = altered_monthly[MONTH] > origin
    altered_monthly.loc[later, "children_under3"] *= 3
    altered_monthly.loc[later, "vedtak_31"] += 10
    altered = replace(district, monthly=altered_monthly)
    before = fitted.predict(district, horizon=3, origin=origin)
    after = fitted.predict(altered, horizon=3, origin=origin)
    pd.testing.assert_frame_equal(before, after)
    assert (before["origin"] == origin).all()


def test_pickle_round_trip_gives_the_same_numbers(fitted, district, forecasts):
    loaded = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(loaded.predict(district, horizon=6), forecasts)


def test_too_little_history_says_how_many_months(district):
    short = replace(
        district,
        monthly=district.monthly[district.monthly[MONTH] < pd.Period("2021-08", "M")].reset_index(
            drop=True
        ),
    )
    with pytest.raises(UserInputError, match="too little history") as info:
        ForecastPipeline(targets=["children_under3"], lgbm_params=FAST).fit(short)
    rules = [p.rule for p in info.value.problems]
    assert rules == ["too little history: 42 months needed, 19 months present"]


def test_feature_mismatch_names_the_missing_feature(fitted, district):
    without = replace(district, monthly=district.monthly.drop(columns=["waiting_list"]))
    with pytest.raises(UserInputError, match="feature set does not match") as info:
        fitted.predict(without, horizon=2)
    text = " ".join(p.rule for p in info.value.problems)
    assert "missing" in text
    assert "waiting_list_lag1" in text


def test_a_model_fitted_on_an_older_feature_definition_is_refused(fitted, district):
    """Under-3 projections changed definition (from the level of a full group) and name: a
    model that still carries the old name is refused with the target and the name, not fed the
    new definition under the old one's weights."""
    import copy

    older = copy.deepcopy(fitted)
    design = older.feature_names_["design"]["children_under3"]
    renamed = "target_intake_projection_12m"
    design[design.index("target_intake_projection_12m_full_group")] = renamed
    with pytest.raises(UserInputError, match="another version of the engine") as info:
        older.predict(district, horizon=2)
    (problem,) = info.value.problems
    assert problem.column == "children_under3" and renamed in problem.rule
    assert not fitted.predict(district, horizon=2).empty  # the model itself still forecasts


def test_target_asked_for_but_absent_is_an_error_and_skipped_otherwise(district):
    without = replace(district, monthly=district.monthly.drop(columns=["vedtak_37"]))
    with pytest.raises(UserInputError, match="vedtak_37 asked for but absent"):
        ForecastPipeline(targets=["vedtak_37"], lgbm_params=FAST).fit(without)
    from models.forecast.inputs import resolve_targets

    with pytest.warns(UserWarning, match="skipped: vedtak_37"):
        chosen = resolve_targets(without, None)
    assert "vedtak_37" not in chosen and "children_under3" in chosen


def test_contributions_name_the_top_drivers(fitted, district):
    drivers = fitted.predict_contributions(district, horizon=2, top=3)
    n_kindergartens = district.monthly.loc[
        district.monthly[MONTH] == district.monthly[MONTH].max(), "kindergarten_id"
    ].nunique()
    # § 31's p50 is its base: that is its one driver (tests/models/test_forecast_base_median.py)
    boosted = [t for t in TARGETS if not fitted.median_is_base(t)]
    assert fitted.median_is_base("vedtak_31")
    assert len(drivers) == n_kindergartens * 2 * (3 * len(boosted) + len(TARGETS) - len(boosted))
    for target, rows in drivers.groupby("target"):
        if target in boosted:
            assert set(rows["feature"]) <= set(fitted.feature_names_["design"][target])
    # ranked by absolute contribution within each forecast
    for _, group in drivers.groupby(["kindergarten_id", "target", "horizon"]):
        assert (np.diff(group.sort_values("rank")["contribution"].abs().to_numpy()) <= 1e-9).all()


def test_direct_strategy_gives_the_same_format(district):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline = ForecastPipeline(
            targets=["children_over3"],
            horizons=3,
            strategy="direct",
            lgbm_params=FAST,
            calibration_origins=2,
        ).fit(district)
    out = pipeline.predict(district, horizon=3)
    assert set(pipeline.models_["children_over3"]) == {1, 2, 3}
    assert list(out.columns) == list(FORECAST_COLUMNS)
    assert (np.diff(out[list(QUANTILE_COLUMNS)].to_numpy(), axis=1) >= 0).all()


def test_unknown_strategy_is_refused(district):
    with pytest.raises(ValueError, match="strategy"):
        ForecastPipeline(strategy="recursive").fit(district)


@pytest.fixture(scope="module")
def over3_with_cohorts(district):
    return ForecastPipeline(
        targets=["children_over3"],
        horizons=4,
        lgbm_params=FAST,
        calibration_origins=3,
        cohort_features=True,
    ).fit(district)


def test_cohort_features_reach_the_over3_median_only(over3_with_cohorts, district):
    """With ``cohort_features`` the over-3 model gets the estimated crossing and school leavers,
    its tail boosters do not see them, forecasts keep the contract; without, the design has
    none."""
    from models.forecast.frames import COHORT_FEATURES, MEDIAN_ONLY_FEATURES

    pipeline = over3_with_cohorts
    design = pipeline.feature_names_["design"]["children_over3"]
    assert set(COHORT_FEATURES) <= set(design)
    model = pipeline.models_["children_over3"][0]
    tail_sees = {design[j] for j in model.tail_columns_}
    assert tail_sees == set(design) - set(MEDIAN_ONLY_FEATURES)
    out = pipeline.predict(district, horizon=4)
    assert len(out) == 4 * district.kindergartens.shape[0]
    assert (np.diff(out[list(QUANTILE_COLUMNS)].to_numpy(), axis=1) >= 0).all()
    without = clone(pipeline).set_params(cohort_features=False).fit(district)
    assert not set(COHORT_FEATURES) & set(without.feature_names_["design"]["children_over3"])


def test_a_model_is_checked_against_the_features_its_own_parameters_ask_for(
    fitted, over3_with_cohorts, district
):
    """Training compares a champion with the features this engine builds *for that champion's
    parameters*: a model without cohort features is not stale because a newer one has them, and
    one fitted on an older feature name is."""
    assert fitted.targets_on_other_features(district) == []
    assert over3_with_cohorts.targets_on_other_features(district) == []
    stale = pickle.loads(pickle.dumps(fitted))
    stale.feature_names_["design"]["children_under3"] = [
        n.replace("_full_group", "") for n in stale.feature_names_["design"]["children_under3"]
    ]
    assert stale.targets_on_other_features(district) == ["children_under3"]
    # a target absent from the data is not compared; one whose features came from it differs
    no_decisions = replace(district, monthly=district.monthly.drop(columns=["vedtak_31"]))
    assert fitted.targets_on_other_features(no_decisions) == ["sick_leave_rate"]
