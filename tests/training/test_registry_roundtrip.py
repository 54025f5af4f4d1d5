"""The MLflow round trip: log the fitted pipeline as one pyfunc model, register it, load it by
alias and get the same numbers as the pipeline in memory; plus what must fail clearly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from tracking_fixtures import small_district, small_pipeline, tracking_uri

from data.contract import FORECAST_COLUMNS
from data.errors import UserInputError
from training.needs_model import district_to_model_input, parquet_safe
from training.registry import (
    NO_CHAMPION,
    load_champion,
    load_model,
    periods_from_text,
    promote,
)
from training.settings import load_settings
from training.tracking import (
    backtest_metric_values,
    check_tracking_server,
    log_training_run,
    register_version,
)
from training.tuning import fold_predictions

pytestmark = pytest.mark.slow  # one fit and a fresh MLflow database: ~20 s on a busy machine


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One run logged and registered as version 1, then promoted by hand."""
    tmp = tmp_path_factory.mktemp("registry")
    settings = load_settings(tracking_uri(tmp))
    district = small_district()
    origin = district.last_month - 3
    pit = fold_predictions(district, small_pipeline(), origin).assign(model="lightgbm")
    metrics = pd.DataFrame(
        {
            "target": ["children_under3"],
            "horizon": [1],
            "model": ["lightgbm"],
            "wape": [0.05],
            "pinball": [0.4],
            "coverage_80": [0.8],
            "n": [6],
        }
    )
    pipeline = small_pipeline().fit(district)
    logged = log_training_run(
        settings,
        pipeline=pipeline,
        district=district,
        params={"horizons": 3},
        backtest_metrics=metrics,
        backtest_predictions=pit,
    )
    version = register_version(settings, logged)
    return settings, district, pipeline, logged, version, pit


def test_no_champion_before_the_first_promotion(trained):
    settings, *_ = trained
    with pytest.raises(UserInputError, match="no champion model yet: run `bemanning train"):
        load_champion(settings.tracking_uri)
    assert NO_CHAMPION.startswith("no champion model yet")


def test_registered_as_challenger_with_the_data_fingerprint(trained):
    settings, district, _, logged, version, _ = trained
    client = MlflowClient(settings.tracking_uri)
    found = client.get_model_version_by_alias("bemanning-needs", "challenger")
    assert str(found.version) == version == "1"
    assert found.tags["data_fingerprint"] == district.fingerprint() == logged.fingerprint
    run = client.get_run(logged.run_id)
    assert run.data.metrics["wape.children_under3.h01"] == pytest.approx(0.05)
    assert run.data.tags["simulated"] == "true"
    dataset = run.inputs.dataset_inputs[0].dataset
    assert dataset.digest == district.fingerprint()


def test_champion_predicts_the_same_numbers_as_the_pipeline_in_memory(trained):
    settings, district, pipeline, logged, version, pit = trained
    promote(version, "first model", who="tester", tracking_uri=settings.tracking_uri)
    loaded = load_champion(settings.tracking_uri)
    assert loaded.version == version
    assert loaded.run_id == logged.run_id
    expected = pipeline.predict(district, horizon=3)
    pd.testing.assert_frame_equal(loaded.pipeline.predict(district, horizon=3), expected)
    # the same through MLflow's own pyfunc interface, from the flat panel
    mlflow.set_tracking_uri(settings.tracking_uri)
    pyfunc = mlflow.pyfunc.load_model("models:/bemanning-needs@champion")
    through_mlflow = pyfunc.predict(district_to_model_input(district), params={"horizon": 3})
    assert list(through_mlflow.columns) == list(FORECAST_COLUMNS)
    pd.testing.assert_frame_equal(
        through_mlflow.reset_index(drop=True), expected, check_dtype=False
    )
    # what travels with the model: backtest metrics and the PIT history (periods restored)
    assert loaded.metrics is not None and loaded.metrics["wape"].iloc[0] == pytest.approx(0.05)
    assert loaded.pit_history is not None and len(loaded.pit_history) == len(pit)
    assert loaded.pit_history["origin"].dtype == "period[M]"
    expected_pit = pit.reset_index(drop=True)
    pd.testing.assert_frame_equal(
        loaded.pit_history[list(expected_pit.columns)], expected_pit, check_dtype=False
    )
    assert loaded.fingerprint == district.fingerprint()


def test_each_artifact_is_logged_once(trained):
    """The backtest predictions travel inside the model only, not beside it as well."""
    settings, _, _, logged, *_ = trained
    client = MlflowClient(settings.tracking_uri)

    def files(uri: str) -> list[str]:
        found = []
        for item in mlflow.artifacts.list_artifacts(artifact_uri=uri):
            path = f"{uri}/{item.path.rsplit('/', 1)[-1]}"
            found.extend(files(path) if item.is_dir else [path])
        return found

    mlflow.set_tracking_uri(settings.tracking_uri)
    run_uri = client.get_run(logged.run_id).info.artifact_uri
    model_id = logged.model_uri.removeprefix("models:/")
    every = files(run_uri) + files(client.get_logged_model(model_id).artifact_location)
    names = [name.rsplit("/", 1)[-1] for name in every if name.endswith(".parquet")]
    assert "pit_history.parquet" in names
    assert len(names) == len(set(names)), names
    assert not any("backtest_predictions" in name for name in names)


def test_periods_parsed_from_text_keep_order_and_missing_values():
    text = pd.Series(["2024-01", None, "2023-12", "2024-01"], index=[5, 6, 7, 8], name="month")
    parsed = periods_from_text(text)
    assert parsed.dtype == "period[M]" and list(parsed.index) == [5, 6, 7, 8]
    assert parsed.name == "month"
    assert parsed[5] == pd.Period("2024-01", "M") and parsed[7] == pd.Period("2023-12", "M")
    assert pd.isna(parsed[6])
    assert list(parquet_safe(parsed.to_frame())["month"]) == ["2024-01", None, "2023-12", "2024-01"]


def test_the_pyfunc_accepts_a_panel_with_gaps(trained):
    settings, district, *_ = trained
    panel = district_to_model_input(district)
    panel.loc[panel.index[::7], "waiting_list"] = None  # values missing in some months
    mlflow.set_tracking_uri(settings.tracking_uri)
    pyfunc = mlflow.pyfunc.load_model("models:/bemanning-needs/1")
    forecasts = pyfunc.predict(panel, params={"horizon": 2})
    assert len(forecasts) == district.monthly["kindergarten_id"].nunique() * 2 * 2
    assert forecasts["p50"].notna().all()


def test_a_forced_promotion_is_recorded_on_the_version(trained):
    settings, _, _, _, version, _ = trained
    promote(
        version, "audit: keep the reviewed model", who="kari", tracking_uri=settings.tracking_uri
    )
    tags = MlflowClient(settings.tracking_uri).get_model_version("bemanning-needs", version).tags
    assert tags["promotion"] == "forced"
    assert tags["promoted_by"] == "kari"
    assert tags["promotion_reason"] == "audit: keep the reviewed model"
    assert tags["promoted_at"][:2] == "20"


def test_promoting_an_unknown_version_lists_the_known_ones(trained):
    settings, *_ = trained
    with pytest.raises(UserInputError, match="no version 9 of bemanning-needs") as info:
        promote("9", "typo", tracking_uri=settings.tracking_uri)
    assert "must be one of: 1" in str(info.value.problems[0])


def test_a_model_uri_that_does_not_exist_is_a_user_error(trained):
    settings, *_ = trained
    with pytest.raises(UserInputError, match="no model at models:/bemanning-needs/7"):
        load_model("models:/bemanning-needs/7", settings.tracking_uri)
    with pytest.raises(UserInputError, match="no model at /nonexistent/model"):
        load_model("/nonexistent/model", settings.tracking_uri)


def test_data_without_a_column_the_model_was_trained_with_is_refused(trained):
    settings, district, *_ = trained
    loaded = load_model("models:/bemanning-needs/1", settings.tracking_uri)
    without = replace(district, monthly=district.monthly.drop(columns=["waiting_list"]))
    with pytest.raises(UserInputError, match="feature set does not match") as info:
        loaded.check_compatible(without)
    assert [p.column for p in info.value.problems] == ["waiting_list"]
    loaded.check_compatible(district)  # the training data itself passes


def test_an_unreachable_tracking_server_is_reported_before_anything_else(tmp_path):
    settings = load_settings("http://127.0.0.1:9")
    with pytest.raises(UserInputError, match=r"tracking server http://127.0.0.1:9 is unreachable"):
        check_tracking_server(settings)
    with pytest.raises(UserInputError, match="unreachable"):
        load_champion("http://127.0.0.1:9")
    missing_folder = load_settings(f"sqlite:///{tmp_path}/no/such/folder/mlflow.db")
    with pytest.raises(UserInputError, match="does not exist"):
        check_tracking_server(missing_folder)


def test_metric_names_carry_target_and_two_digit_horizon():
    metrics = pd.DataFrame(
        {
            "target": ["vedtak_31", "vedtak_31"],
            "horizon": [3, 12],
            "model": ["lightgbm", "seasonal_naive"],
            "wape": [0.2, 0.3],
            "coverage_80": [0.81, float("nan")],
        }
    )
    assert backtest_metric_values(metrics) == {
        "wape.vedtak_31.h03": 0.2,
        "coverage_80.vedtak_31.h03": 0.81,
        "seasonal_naive.wape.vedtak_31.h12": 0.3,
    }


def test_backtest_predictions_are_read_on_first_use_only(trained, tmp_path):
    """A forecast never reads the model's largest file; a plan reads it from the mapping made
    at load, even when the store's file has gone since."""
    settings, _, _, _, version, pit = trained
    loaded = load_model(f"models:/bemanning-needs/{version}", settings.tracking_uri)
    assert "pit_history" not in vars(loaded)  # not read by the load
    store = Path(settings.tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts"
    (stored,) = store.rglob("pit_history.parquet")
    moved = stored.rename(tmp_path / "moved.parquet")
    try:
        history = loaded.pit_history
    finally:
        moved.rename(stored)
    assert history is not None and len(history) == len(pit)
    assert history["month"].dtype == "period[M]"
    assert loaded.pit_history is history  # read once
    one = history.head(3)
    assert loaded.with_pit_history(one).pit_history is one
    assert loaded.pit_history is history
