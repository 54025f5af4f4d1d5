"""Two `bemanning tune` workers sharing one Optuna study on PostgreSQL (the throwaway cluster of
tests/serving/conftest.py), as a team would on a shared server."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from serving.cli import app

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_two_workers_share_a_study_on_postgresql(postgres_url, tmp_path):
    import optuna
    import psycopg

    from data.writers import write_district
    from simulate import simulate_district

    # a database of its own: Optuna's tables must not meet the plan store's migrations
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("CREATE DATABASE optuna_shared")
    storage = postgres_url.rsplit("/", 1)[0] + "/optuna_shared"

    data = tmp_path / "data"
    write_district(
        simulate_district(
            "district",
            seed=5,
            n_kindergartens=4,
            start=pd.Period("2021-01", "M"),
            end=pd.Period("2024-12", "M"),
        ).district,
        data,
    )
    worker = [
        "tune",
        str(data),
        "--trials",
        "1",
        "--storage",
        storage,
        "--study",
        "shared",
        "--origins",
        "1",
        "--horizons",
        "2",
        "--target",
        "vedtak_31",
    ]
    for expected_trials in (1, 2):
        result = CliRunner().invoke(app, [*worker, "--seed", str(expected_trials)])
        assert result.exit_code == 0, result.output
        assert "Study shared in" in result.output
        study = optuna.load_study(study_name="shared", storage=storage)
        assert len(study.trials) == expected_trials
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.COMPLETE}
