"""Sick leave's and § 31's boosters leave out the columns that carried least of their gain
(``quantile_lgbm.TARGET_UNUSED_FEATURES``, chosen on the tuning seeds of both simulator
families): by default, skipping any the data lack; a list the user gives must name design
features; ``{}`` gives every booster its target's whole design. SIMULATED district."""

from __future__ import annotations

import numpy as np
import pytest

from models.forecast import ForecastPipeline
from models.forecast.quantile_lgbm import TARGET_UNUSED_FEATURES
from models.forecast.target_fit import target_unused_features

FAST = {"n_estimators": 15, "learning_rate": 0.2, "min_data_in_leaf": 20}
SICK = "sick_leave_rate"
V31 = "vedtak_31"


@pytest.fixture(scope="module")
def district():
    from simulate import simulate_district

    return simulate_district("district", seed=4, n_kindergartens=8).district


def _fit(district, **options):
    return ForecastPipeline(
        targets=[SICK, "children_under3", V31],
        horizons=3,
        calibration_origins=3,
        lgbm_params=FAST,
        n_jobs=1,
        **options,
    ).fit(district)


def _boosters_columns(pipeline: ForecastPipeline, target: str) -> set[str]:
    regressor = pipeline.models_[target][0]
    names = np.asarray(regressor.feature_names_)
    return set(names[regressor.used_columns_])


def test_sick_leave_and_v31_boosters_leave_out_the_default_columns_children_see_all(district):
    pipeline = _fit(district)
    design = pipeline.feature_names_["design"]
    left_out = set(TARGET_UNUSED_FEATURES[SICK]) & set(design[SICK])
    assert len(left_out) >= 20  # the simulated district carries most of them
    seen = _boosters_columns(pipeline, SICK)
    assert not seen & left_out
    assert seen == set(design[SICK]) - left_out
    assert _boosters_columns(pipeline, "children_under3") == set(design["children_under3"])
    v31_left_out = set(TARGET_UNUSED_FEATURES[V31]) & set(design[V31])
    assert len(v31_left_out) >= 50
    assert _boosters_columns(pipeline, V31) == set(design[V31]) - v31_left_out
    assert {"horizon", "vedtak_31_per_child"} <= _boosters_columns(pipeline, V31)
    forecasts = pipeline.predict(district, horizon=3)
    assert forecasts.loc[forecasts["target"] == SICK, "p50"].between(0, 1).all()


def test_every_column_with_an_empty_mapping(district):
    pipeline = _fit(district, unused_features={})
    assert _boosters_columns(pipeline, SICK) == set(pipeline.feature_names_["design"][SICK])


def test_default_skips_the_columns_a_district_lacks():
    """A district without a waiting list or income data still fits: the default names only
    the columns its design has."""
    pipeline = ForecastPipeline()
    design = ["sick_leave_rate_lag1", "staff_fte", "month_of_year"]
    assert target_unused_features(pipeline, SICK, design) == ("staff_fte",)
    assert target_unused_features(pipeline, "children_under3", design) == ()


def test_a_users_list_must_name_design_features(district):
    with pytest.raises(ValueError, match="not in its design: no_such_column"):
        _fit(district, unused_features={SICK: ["no_such_column"]})
