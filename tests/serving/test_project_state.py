"""One place for a project's state: ``bemanning init`` writes bemanning.toml beside the data,
and the commands given that data folder find the project's MLflow store (and app database)
with no flag — a flag, then the environment, win over the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from data.errors import UserInputError
from serving.cli import app
from serving.project import (
    PROJECT_FILE,
    find_project_state,
    read_project_state,
    state_value,
    write_project_file,
)

ENVIRONMENT = (
    "MLFLOW_TRACKING_URI",
    "BEMANNING_TRACKING_URI",
    "DATABASE_URL",
    "BEMANNING_DATABASE_URL",
    "BEMANNING_OPTUNA_STORAGE",
)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the commands run from another folder than the project
    return elsewhere


def test_the_file_beside_the_data_names_sqlite_files_beside_itself(
    tmp_path: Path, clean_environment: Path
) -> None:
    project = tmp_path / "project"
    write_project_file(project)
    (project / "data").mkdir()
    state = find_project_state(project / "data")
    assert state is not None and state.path == project / PROJECT_FILE
    assert state.tracking_uri == f"sqlite:///{project.resolve()}/mlflow.db"
    assert state.database_url == f"sqlite:///{project.resolve()}/app.db"
    assert state.optuna_storage == f"sqlite:///{project.resolve()}/optuna.db"


def test_a_flag_then_the_environment_win_over_the_file(
    tmp_path: Path, clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    write_project_file(project)
    data = project / "data"
    data.mkdir()
    from_file = f"sqlite:///{project.resolve()}/mlflow.db"
    assert state_value("mlflow", None, data) == from_file
    assert state_value("mlflow", "sqlite:///given.db", data) == "sqlite:///given.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///from-env.db")
    assert state_value("mlflow", None, data) is None  # the settings read the environment
    assert state_value("app_database", None, data) == f"sqlite:///{project.resolve()}/app.db"
    # no file anywhere: the built-in defaults apply
    assert state_value("app_database", None, tmp_path / "other" / "data") is None


def test_a_bad_project_file_names_every_problem(tmp_path: Path) -> None:
    path = tmp_path / PROJECT_FILE
    path.write_text('[state]\nmlflow = ""\ntracking = "x.db"\n', encoding="utf-8")
    with pytest.raises(UserInputError) as caught:
        read_project_state(path)
    rules = {(p.column, p.rule) for p in caught.value.problems}
    assert rules == {("state.mlflow", "must be text"), ("state.tracking", "unknown key")}
    full = tmp_path / "full.toml"
    full.write_text('[state]\nmlflow = "postgresql+psycopg://u@h/db"\n', encoding="utf-8")
    assert read_project_state(full).tracking_uri == "postgresql+psycopg://u@h/db"


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
    "children_over3",
    "--lgbm",
    "n_estimators=20",
    "--lgbm",
    "num_leaves=7",
    "--lgbm",
    "n_jobs=1",
    "--lgbm",
    "min_data_in_leaf=10",
]


@pytest.mark.slow
def test_after_the_demo_steps_forecast_and_plan_find_the_champion_with_no_flag(
    tmp_path: Path, clean_environment: Path
) -> None:
    from data.writers import write_district
    from simulate import simulate_district

    project = tmp_path / "project"
    data = project / "data"
    runner = CliRunner()
    # the demo's steps (scripts/demo.sh) on a tiny district: init, simulate, train
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    district = simulate_district(
        "district",
        seed=4,
        n_kindergartens=5,
        start=pd.Period("2021-01", "M"),
        end=pd.Period("2024-12", "M"),
    ).district
    write_district(district, data)
    trained = runner.invoke(app, ["train", str(data), *FAST])
    assert trained.exit_code == 0, trained.output
    assert "Promoted to champion" in " ".join(trained.output.split())

    forecast = runner.invoke(
        app, ["forecast", str(data), "--horizon", "3", "--out", str(project / "f.csv")]
    )
    assert forecast.exit_code == 0, forecast.output
    assert "No champion" not in forecast.output
    plan = runner.invoke(
        app,
        [
            "plan",
            str(data),
            "--pool",
            "staff=2",
            "--months",
            "3",
            "--out",
            str(project / "plan.csv"),
        ],
    )
    assert plan.exit_code == 0, plan.output
    assert (project / "plan.csv").is_file()
    # the project's state is in the project, nothing in the folder the commands ran from
    assert (project / "mlflow.db").is_file() and (project / "mlartifacts").is_dir()
    assert list(clean_environment.iterdir()) == []
