"""`bemanning train / promote / forecast / backtest` end to end on a small simulated district with
a temporary SQLite MLflow store: exit codes, printed decisions, the forecast file's format, and
bad input (unreachable tracking server, no champion, bad options) as exit 2 without traceback."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from data.contract import COUNT_TARGETS, FORECAST_COLUMNS, QUANTILE_COLUMNS
from serving.cli import app

pytestmark = pytest.mark.slow  # two trainings and a tuning trial: ~1 min on a busy machine

FAST = [
    "--origins",
    "2",
    "--span-months",
    "6",
    "--horizons",
    "3",
    "--target",
    "children_under3",
    "--target",
    "vedtak_31",
    "--lgbm",
    "n_estimators=20",
    "--lgbm",
    "num_leaves=7",
    "--lgbm",
    "n_jobs=1",
    "--lgbm",
    "min_data_in_leaf=10",
]


def run(args, uri=None):
    env = {"MLFLOW_TRACKING_URI": uri} if uri else {}
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    result.flat = " ".join(result.output.split())  # Rich wraps lines; compare words
    return result


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory):
    from data.writers import write_district
    from simulate import simulate_district

    folder = tmp_path_factory.mktemp("cli") / "data"
    district = simulate_district(
        "district",
        seed=3,
        n_kindergartens=6,
        start=pd.Period("2020-01", "M"),
        end=pd.Period("2024-12", "M"),
    ).district
    write_district(district, folder)
    return folder


@pytest.fixture(scope="module")
def store(data_folder, tmp_path_factory):
    """Version 1 trained from a tuning study's best trial (champion), then an identical version
    2 (kept challenger: a tie keeps the champion)."""
    from data.validate import read_district
    from models.forecast.pipeline import ForecastPipeline
    from training.tuning import tune

    tmp = tmp_path_factory.mktemp("store")
    uri, storage = f"sqlite:///{tmp}/mlflow.db", f"sqlite:///{tmp}/optuna.db"
    study = tune(
        read_district(data_folder),
        n_trials=1,
        storage=storage,
        study_name="cli",
        n_origins=1,
        make_pipeline=lambda lgbm: ForecastPipeline(
            targets=("children_under3",),
            horizons=3,
            calibration_origins=2,
            lgbm_params={**lgbm, "n_estimators": 20, "n_jobs": 1} if lgbm else None,
        ),
    )
    train = [
        "train",
        data_folder,
        *FAST[:-8],
        "--study",
        "cli",
        "--storage",
        storage,
        "--lgbm",
        "n_estimators=20",
        "--lgbm",
        "n_jobs=1",
    ]
    first = run(train, uri)
    second = run(train, uri)  # the same run again: an equal challenger, not promoted
    return uri, study, first, second


def test_first_train_is_champion_with_the_tuned_parameters(store):
    uri, study, first, _ = store
    assert first.exit_code == 0, first.output
    assert "SIMULATED DATA" in first.output
    assert "Registered bemanning-needs version 1 as challenger" in first.flat
    assert "Promoted to champion: version 1 is the first model" in first.flat
    client = MlflowClient(uri)
    run_params = client.get_run(client.get_model_version("bemanning-needs", "1").run_id).data.params
    best = study.best_trial.user_attrs["lgbm_params"]
    assert run_params["tuning.trial"] == str(study.best_trial.number)
    assert run_params["lgbm.num_leaves"] == str(best["num_leaves"])
    assert run_params["lgbm.n_estimators"] == "20"  # --lgbm wins over --study


def test_an_equal_challenger_is_not_promoted_and_the_reason_is_printed(store):
    *_, second = store
    assert second.exit_code == 0, second.output
    assert (
        "Not promoted: version 2 stays challenger: champion version 1 is as good or "
        "better on the same backtest" in second.flat
    )


def test_promote_forces_and_records(store):
    uri, *_ = store
    result = run(["promote", "2", "--reason", "reviewed by the project team"], uri)
    assert result.exit_code == 0, result.output
    assert "Version 2 of bemanning-needs is now champion" in result.flat
    tags = MlflowClient(uri).get_model_version("bemanning-needs", "2").tags
    assert tags["promotion"] == "forced"
    assert tags["promotion_reason"] == "reviewed by the project team"
    bad = run(["promote", "7"], uri)
    assert bad.exit_code == 2 and "no version 7 of bemanning-needs" in bad.flat
    assert "Traceback" not in bad.output


def test_forecast_writes_the_contract_format_and_drivers(store, data_folder, tmp_path):
    uri, *_ = store
    out = tmp_path / "forecasts.csv"
    result = run(["forecast", data_folder, "--out", out, "--horizon", "3"], uri)
    assert result.exit_code == 0, result.output
    forecasts = pd.read_csv(out, dtype={"kindergarten_id": str})
    assert list(forecasts.columns[: len(FORECAST_COLUMNS)]) == list(FORECAST_COLUMNS)
    assert forecasts["simulated"].all()  # simulated data stays labelled
    assert forecasts["kindergarten_id"].nunique() == 6
    # where each forecast comes from, in the planner's bokmål (not "model"/"fallback: …")
    assert set(forecasts["forecast"]) <= {
        "modellprognose",
        "reserveprognose (kort historikk)",
        "reserveprognose (hull i dataene)",
    }
    assert sorted(forecasts["horizon"].unique()) == [1, 2, 3]
    assert (forecasts["origin"] == "2024-12").all()
    assert set(forecasts["month"]) == {"2025-01", "2025-02", "2025-03"}
    quantiles = forecasts[list(QUANTILE_COLUMNS)].to_numpy()
    assert (quantiles[:, 1:] >= quantiles[:, :-1]).all()
    counts = forecasts[forecasts["target"].isin(COUNT_TARGETS)]
    assert (counts[list(QUANTILE_COLUMNS)] >= 0).all().all()
    drivers = pd.read_csv(tmp_path / "forecasts_drivers.csv")
    assert {"feature", "contribution", "rank"} <= set(drivers.columns)
    assert drivers["rank"].max() <= 5
    # an explicit model URI works too
    by_uri = run(
        [
            "forecast",
            data_folder,
            "--out",
            tmp_path / "v1.csv",
            "--horizon",
            "2",
            "--model",
            "models:/bemanning-needs/1",
        ],
        uri,
    )
    assert by_uri.exit_code == 0, by_uri.output
    assert pd.read_csv(tmp_path / "v1.csv")["horizon"].max() == 2


def test_unreachable_tracking_server_exits_2_before_reading_anything(tmp_path):
    for args in (
        ["train", tmp_path / "no-data", *FAST],
        ["forecast", tmp_path / "no-data", "--out", tmp_path / "f.csv"],
        ["promote", "1"],
    ):
        result = run(args, "http://127.0.0.1:9")
        assert result.exit_code == 2, result.output
        assert "tracking server http://127.0.0.1:9 is unreachable" in result.flat
        assert "nothing was trained or registered" in result.flat
        assert "Traceback" not in result.output
    assert not (tmp_path / "f.csv").exists()


def test_no_champion_yet_and_bad_options_exit_2(data_folder, tmp_path):
    uri = f"sqlite:///{tmp_path}/empty.db"
    result = run(["forecast", data_folder, "--out", tmp_path / "f.csv"], uri)
    assert result.exit_code == 2
    assert "no champion model yet: run `bemanning train DATA` first" in result.flat
    for args, message in (
        (["train", data_folder, "--target", "children"], "unknown target(s)"),
        (["train", data_folder, "--lgbm", "n_estimators"], "bad --lgbm option(s)"),
        (["train", data_folder, "--origins", "0"], "--origins: must be at least 1"),
        (["forecast", data_folder, "--out", tmp_path / "f.txt"], "must be a .csv file"),
        (
            ["train", data_folder, "--study", "nope", "--storage", f"sqlite:///{tmp_path}/o.db"],
            "no study 'nope'",
        ),
    ):
        result = run(args, uri)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.flat, result.output
    assert MlflowClient(uri).search_registered_models() == []


def test_too_little_history_exits_2_and_registers_nothing(tmp_path):
    from data.writers import write_district
    from simulate import simulate_district

    folder = tmp_path / "short"
    write_district(
        simulate_district(
            "district",
            seed=3,
            n_kindergartens=3,
            start=pd.Period("2023-01", "M"),
            end=pd.Period("2024-06", "M"),
        ).district,
        folder,
    )
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    result = run(["train", folder, *FAST], uri)
    assert result.exit_code == 2, result.output
    assert "too little history" in result.flat and "months needed" in result.flat
    assert MlflowClient(uri).search_registered_models() == []


def test_backtest_prints_the_table_against_baselines_and_writes_files(data_folder, tmp_path):
    out = tmp_path / "bt"
    result = run(["backtest", data_folder, "--out", out, *FAST])
    assert result.exit_code == 0, result.output
    assert "s-naive" in result.output and "children_under3" in result.output
    assert "× best" in result.output and "against the best baseline" in result.flat
    assert "Backtest over 2 origins — SIMULATED data" in result.output
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics["model"]) == {"lightgbm", "seasonal_naive", "last_value"}
    assert set(metrics["horizon"]) == {1, 2, 3}
    assert metrics["coverage_80"].between(0, 1).all()
    assert (out / "calibration_curve.png").exists()


def test_an_absent_target_is_skipped_with_a_warning_or_refused_when_asked_for(
    data_folder, tmp_path
):
    import shutil

    folder = tmp_path / "no_leavers"
    shutil.copytree(data_folder, folder)
    monthly = pd.read_csv(folder / "monthly.csv", dtype=str)
    monthly.drop(columns=["staff_leavers"]).to_csv(folder / "monthly.csv", index=False)
    lean = [a for a in FAST if a not in ("--target", "children_under3", "vedtak_31")]
    skipped = run(["backtest", folder, "--out", tmp_path / "bt", *lean])
    assert skipped.exit_code == 0, skipped.output
    assert "warning: target(s) absent from the data, skipped: staff_leavers" in skipped.flat
    assert "staff_leavers" not in set(pd.read_csv(tmp_path / "bt" / "metrics.csv")["target"])
    asked = run(["backtest", folder, "--out", tmp_path / "bt2", *FAST, "--target", "staff_leavers"])
    assert asked.exit_code == 2
    assert "target(s) staff_leavers asked for but absent from the data" in asked.flat
    assert "Traceback" not in asked.output


def test_backtest_with_cohort_features_scores_children_over3(data_folder, tmp_path):
    out = tmp_path / "bt_cohorts"
    lean = [a for a in FAST if a not in ("--target", "children_under3", "vedtak_31")]
    args = ["backtest", data_folder, "--out", out, *lean, "--target", "children_over3"]
    result = run([*args, "--cohort-features"])
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(out / "metrics.csv")
    ours = metrics[(metrics["model"] == "lightgbm") & (metrics["target"] == "children_over3")]
    assert len(ours) == 3 and ours["wape"].between(0, 1).all()
