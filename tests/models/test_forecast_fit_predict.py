"""A backtest fold's fit and forecast on one feature table (``ForecastPipeline.fit_predict``):
the same models, corrections and forecasts as ``fit`` then ``predict`` from the last month, every
target's own features included (children's cycles and cohorts, sick leave's seasonal level,
§ 31's span base, leavers' trailing mean); SIMULATED district."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from data.contract import TARGETS
from models.forecast import ForecastPipeline, target_fit
from models.forecast.inputs import as_of
from models.forecast.target_fit import target_lgbm_params

FAST = {"n_estimators": 25, "learning_rate": 0.15, "min_data_in_leaf": 20}


@pytest.fixture(scope="module")
def district():
    from simulate import simulate_district

    known = simulate_district("district", seed=4, n_kindergartens=8).district
    # an origin inside the data, as a backtest fold sees it
    return as_of(known, known.monthly["month"].max() - 5)


def _pipeline(n_jobs: int = 1) -> ForecastPipeline:
    return ForecastPipeline(horizons=4, calibration_origins=3, lgbm_params=FAST, n_jobs=n_jobs)


@pytest.mark.parametrize(("horizon", "n_jobs"), [(4, 1), (2, 1), (4, 2)])
def test_fit_predict_equals_fit_then_predict(district, horizon, n_jobs):
    """Also in threads (``n_jobs=2``): each target's rounds in worker threads, the forecast's
    predictions made beside the final round, the results in target order."""
    apart = _pipeline().fit(district)
    expected = apart.predict(district, horizon=horizon)
    together = _pipeline(n_jobs)
    switch_interval = sys.getswitchinterval()
    got = together.fit_predict(district, horizon=horizon)
    assert sys.getswitchinterval() == switch_interval  # shortened for the fit only
    pd.testing.assert_frame_equal(got, expected)
    assert set(got["target"]) == {t for t in TARGETS if t in district.monthly.columns}
    assert together.calibration_ == apart.calibration_
    assert list(together.models_) == list(apart.models_) == apart.targets_
    for key in ("corrections", "district_correlation"):
        assert list(together.calibration_[key]) == apart.targets_
    assert together.feature_names_ == apart.feature_names_
    # the fitted boosters are the same: they forecast any other origin alike
    origin = district.monthly["month"].max() - 3
    pd.testing.assert_frame_equal(
        together.predict(district, horizon=2, origin=origin),
        apart.predict(district, horizon=2, origin=origin),
    )


def test_each_calibration_round_is_handed_over_before_the_forecasts_frames(district, monkeypatch):
    """The calibration round needs no forecast frames: it is submitted as soon as its own frames
    are built (one thread: it runs at once), the forecast's frames built while it boosts."""
    events: list[tuple[str, str]] = []

    def recorded(name, function):
        def call(pipeline, inputs, target, *args):
            events.append((name, target))
            return function(pipeline, inputs, target, *args)

        return call

    for name in ("calibration_round", "target_origin_frames", "final_round"):
        monkeypatch.setattr(target_fit, name, recorded(name, getattr(target_fit, name)))
    _pipeline().fit_predict(district, horizon=2)
    targets = list(dict.fromkeys(target for _, target in events))
    assert len(targets) > 1
    assert events == [
        (name, target)
        for target in targets
        for name in ("calibration_round", "target_origin_frames", "final_round")
    ]


def test_fit_predict_refuses_a_horizon_beyond_the_models(district):
    from data.errors import UserInputError

    with pytest.raises(UserInputError, match="outside the model"):
        _pipeline().fit_predict(district, horizon=5)


def test_calibration_in_groups_of_horizons_equals_all_at_once(district, monkeypatch):
    """The calibration round's forecasts built and scored a few horizons at a time (the
    nation's memory bound) give the corrections and forecasts of all horizons at once."""
    import models.forecast.target_fit as target_fit

    whole = _pipeline().fit(district)
    monkeypatch.setattr(target_fit, "CALIBRATION_CHUNK_ROWS", 60)
    grouped = _pipeline().fit(district)
    assert grouped.calibration_ == whole.calibration_
    pd.testing.assert_frame_equal(
        grouped.predict(district, horizon=4), whole.predict(district, horizon=4)
    )


def test_horizons_grouped_by_rows_in_order():
    from models.forecast.row_choice import chunks

    rows = dict(enumerate([30, 30, 50, 80, 10], start=1))
    assert list(chunks(rows, 60)) == [[1, 2], [3], [4], [5]]
    assert list(chunks(rows, 1_000)) == [[1, 2, 3, 4, 5]]


def test_the_calibration_rounds_share_moves_the_corrections_and_not_the_final_models(district):
    """``calibration_rounds_share``: the calibration round's medians in fewer rounds at a higher
    rate (half by default); the final round, whose medians are the forecast, is the full
    rounds' round."""
    full = ForecastPipeline(
        horizons=4,
        calibration_origins=3,
        lgbm_params=FAST,
        n_jobs=1,
        calibration_rounds_share=1.0,
    ).fit(district)
    shorter = _pipeline().fit(district)
    assert shorter.calibration_rounds_share == 0.5
    default = full
    for target, models in default.models_.items():
        for a, b in zip(models[0].boosters_, shorter.models_[target][0].boosters_, strict=True):
            assert (a is None and b is None) or a.model_to_string() == b.model_to_string()
    assert shorter.calibration_["corrections"] != default.calibration_["corrections"]
    assert target_lgbm_params(shorter, "children_over3", calibration=True) == {
        "n_estimators": 13,
        "learning_rate": 0.3,
        "min_data_in_leaf": 20,
    }
    with pytest.raises(ValueError, match="calibration_rounds_share"):
        ForecastPipeline(calibration_rounds_share=0).fit(district)


def test_sick_leave_calibration_median_in_a_quarter_of_the_rounds_by_default(district):
    """``target_calibration_rounds_share``: sick leave's calibration-round median in a quarter
    of its rounds (the default), every other target at ``calibration_rounds_share``; the final
    round is not scaled; a share outside (0, 1] is refused."""
    from models.forecast.target_fit import TARGET_CALIBRATION_ROUNDS_SHARE

    assert TARGET_CALIBRATION_ROUNDS_SHARE == {"sick_leave_rate": 0.25}
    default = ForecastPipeline()
    assert target_lgbm_params(default, "sick_leave_rate", calibration=True) == {
        "n_estimators": 25,
        "learning_rate": 0.4,
    }
    assert target_lgbm_params(default, "sick_leave_rate") == {
        "n_estimators": 100,
        "learning_rate": 0.1,
    }
    assert target_lgbm_params(default, "children_over3", calibration=True)["n_estimators"] == 10
    half = ForecastPipeline(target_calibration_rounds_share={})
    assert target_lgbm_params(half, "sick_leave_rate", calibration=True) == {
        "n_estimators": 50,
        "learning_rate": 0.2,
    }
    with pytest.raises(ValueError, match="target_calibration_rounds_share"):
        ForecastPipeline(target_calibration_rounds_share={"sick_leave_rate": 1.5}).fit(district)
