"""``bemanning plan`` end to end: bad options and no model are reported with exit code 2; with a
champion it writes the plan in the contract's format, its header and summary, and prints them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from data.contract import PLAN_COLUMNS, SIMULATED_LABEL
from models.allocation.comparison import COMPARED
from serving.cli import app

runner = CliRunner()


@pytest.mark.slow  # creating an empty MLflow store takes a while
def test_plan_without_a_champion_says_to_train_first(sim_data_path: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "plan",
            str(sim_data_path),
            "--pool",
            "staff=2",
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'empty.db'}",
            "--out",
            str(tmp_path / "p.csv"),
        ],
    )
    assert result.exit_code == 2
    assert "no champion model yet: run `bemanning train DATA` first" in result.output
    assert not (tmp_path / "p.csv").exists()


def test_bad_plan_options_are_listed_together(sim_data_path: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "plan",
            str(sim_data_path),
            "--pool",
            "staff=-1",
            "--pool",
            "teachers=2",
            "--risk",
            "1.5",
            "--out",
            str(tmp_path / "plan.xlsx"),
        ],
    )
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "4 problem(s) with the plan options" in output
    assert "FTE must be a finite number ≥ 0" in output
    assert "resource must be one of staff, pedagogue, resource_pedagogue" in output
    assert "must be between 0.5 and 0.99" in output
    assert "must be a .csv file" in output


@pytest.mark.slow
def test_plan_with_the_champion_writes_plan_header_and_summary(
    sim_data_path: Path,
    champion_uri: str,
    tmp_path: Path,
) -> None:
    out = tmp_path / "plan.csv"
    result = runner.invoke(
        app,
        [
            "plan",
            str(sim_data_path),
            "--pool",
            "staff=4",
            "--pool",
            "pedagogue=2",
            "--pool",
            "resource_pedagogue=2",
            "--months",
            "6",
            "--scenarios",
            "60",
            "--as-one",
            "--tracking-uri",
            champion_uri,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = pd.read_csv(out)
    assert tuple(lines.columns[: len(PLAN_COLUMNS)]) == PLAN_COLUMNS
    per_kindergarten = lines.groupby("kindergarten_id")["resource"].nunique()
    assert (per_kindergarten == 3).all() and len(per_kindergarten) >= 20
    assert lines.groupby("resource")["change_fte"].sum().to_dict() == pytest.approx(
        {"staff": 4.0, "pedagogue": 2.0, "resource_pedagogue": 2.0}
    )
    header = json.loads(out.with_suffix(".header.json").read_text(encoding="utf-8"))
    assert header["model_version"] == "1"
    assert header["simulated"] is True and header["label"] == SIMULATED_LABEL
    summary = pd.read_csv(out.with_suffix(".summary.csv"))
    assert summary["allocation"].tolist() == [
        "plan",
        "equity_0",
        "risk_neutral",
        "proportional",
        "none",
    ]
    assert set(header["spend_nok"]) == set(summary["allocation"])
    output = " ".join(result.output.split())
    assert SIMULATED_LABEL in output
    assert "proportional key" in output and "Solver: Optimal" in output
    assert "spend (NOK)" in output and "Trade-offs, unmet FTE-months in all: plan" in output
    assert "equity_0" not in output  # planners' words, not column names


@pytest.mark.slow
def test_plan_per_district_with_a_pools_file(
    sim_data_path: Path,
    sim_district,
    champion_uri: str,
    tmp_path: Path,
) -> None:
    """By default one plan per district, each with its own pools; --district picks some."""
    names = sorted(sim_district.kindergartens["district"].unique())[:2]
    pools = tmp_path / "pools.csv"
    pools.write_text(f"district,resource,fte\n{names[0]},staff,2\n{names[1]},pedagogue,1\n")
    out = tmp_path / "plans.csv"
    args = ["plan", str(sim_data_path), "--pools-file", str(pools), "--months", "6"]
    result = runner.invoke(
        app,
        [
            *args,
            *("--district", names[0], "--district", names[1]),
            *("--scenarios", "40", "--processes", "2"),
            *("--tracking-uri", champion_uri, "--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = pd.read_csv(out)
    assert sorted(lines["district"].unique()) == names
    spent = lines.groupby(["district", "resource"])["change_fte"].sum()
    assert spent[(names[0], "pedagogue")] == 0 and spent[(names[1], "staff")] == 0
    assert spent[(names[0], "staff")] <= 2 + 1e-9 and spent[(names[1], "pedagogue")] <= 1 + 1e-9
    header = json.loads(out.with_suffix(".header.json").read_text(encoding="utf-8"))
    assert sorted(header["districts"]) == names and header["simulated"] is True
    city = pd.read_csv(out.with_suffix(".summary.csv"))
    assert tuple(city["allocation"]) == COMPARED
    assert set(pd.read_csv(out.with_suffix(".districts.csv"))["district"]) == set(names)
    output = " ".join(result.output.split())
    assert "2 district plans" in output and "the city in sum" in output
