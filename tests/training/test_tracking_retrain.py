"""The retraining loop against a temporary SQLite MLflow store: the first model becomes
champion, a worse challenger stays challenger (reason given), a better one is promoted, and a
failure before registration leaves nothing registered."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from tracking_fixtures import FAST_LGBM, FAST_TARGETS, small_district, tracking_uri

from data.errors import UserInputError
from training.registry import load_champion
from training.retrain import train_and_register
from training.settings import load_settings

pytestmark = pytest.mark.slow  # three trainings with backtests: ~1 min on a busy machine

GOOD = {"targets": FAST_TARGETS, "horizons": 3, "calibration_origins": 2, "lgbm_params": FAST_LGBM}
# Two trees learning the level (not the change) barely leave the pooled quantiles of all
# kindergartens: a model that must lose against GOOD on any district.
BAD = {
    **GOOD,
    "transform": "level",
    "lgbm_params": {**FAST_LGBM, "n_estimators": 2, "learning_rate": 0.01},
}


def test_first_champion_then_worse_kept_then_better_promoted(tmp_path):
    settings = load_settings(tracking_uri(tmp_path))
    district = small_district()
    client = MlflowClient(settings.tracking_uri)

    first = train_and_register(district, settings, pipeline_params=BAD, n_origins=2, span_months=6)
    assert first.version == "1" and first.decision.promote
    assert "first model" in first.decision.reason

    better = train_and_register(
        district, settings, pipeline_params=GOOD, n_origins=2, span_months=6
    )
    assert better.decision.promote, better.decision.reason
    assert "version 2 beats champion version 1 on the same backtest" in better.decision.reason
    assert better.decision.challenger.loss < better.decision.champion.loss

    worse = train_and_register(district, settings, pipeline_params=BAD, n_origins=2, span_months=6)
    assert not worse.decision.promote
    assert "version 3 stays challenger: champion version 2" in worse.decision.reason
    assert not worse.champion_rebacktested  # same data: the logged backtests are compared

    assert load_champion(settings.tracking_uri).version == "2"
    assert str(client.get_model_version_by_alias("bemanning-needs", "challenger").version) == "3"
    tags = client.get_model_version("bemanning-needs", "2").tags
    assert tags["promotion"] == "automatic" and tags["promoted_by"] == "bemanning train"
    assert tags["promotion_reason"] == better.decision.reason
    assert (
        client.get_model_version("bemanning-needs", "3").tags["promotion_decision"]
        == "kept challenger"
    )
    run = client.get_run(better.run_id)
    assert "wape.children_under3.h01" in run.data.metrics
    assert "seasonal_naive.wape.children_under3.h01" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(better.run_id)}
    assert {"backtest", "feature_importances.json", "plots"} <= artifacts
    plots = {a.path for a in client.list_artifacts(better.run_id, "plots")}
    assert "plots/calibration_curve.png" in plots


def test_new_data_backtests_the_champion_again_for_a_fair_comparison(tmp_path):
    settings = load_settings(tracking_uri(tmp_path))
    train_and_register(
        small_district(seed=3), settings, pipeline_params=GOOD, n_origins=2, span_months=6
    )
    outcome = train_and_register(
        small_district(seed=4), settings, pipeline_params=BAD, n_origins=2, span_months=6
    )
    assert outcome.champion_rebacktested
    assert not outcome.decision.promote
    assert outcome.decision.champion.n_rows == outcome.decision.challenger.n_rows


def test_a_failure_before_registration_leaves_nothing_registered(tmp_path):
    settings = load_settings(tracking_uri(tmp_path))
    short = small_district(end="2021-06")  # 18 months: too little history
    with pytest.raises(UserInputError, match="too little history"):
        train_and_register(short, settings, pipeline_params=GOOD, n_origins=2, span_months=6)
    assert MlflowClient(settings.tracking_uri).search_registered_models() == []
