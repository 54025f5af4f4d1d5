"""``bemanning report`` end to end: without a champion it says what to run and exits 2; with a
champion it writes the report, whose district figures equal the plan the same options make."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from models.allocation.comparison import COMPARED
from serving.cli import app


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from simulate import simulate_district, write_simulation

    folder = tmp_path_factory.mktemp("report-data") / "data"
    simulation = simulate_district(
        "district",
        seed=21,
        n_kindergartens=10,
        start=pd.Period("2020-01", "M"),
        end=pd.Period("2024-12", "M"),
    )
    write_simulation(simulation, folder)
    return folder


def test_without_a_champion_it_says_to_train_first(data_folder: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = CliRunner().invoke(
        app, ["report", str(data_folder), "--out", str(tmp_path / "r.html"), "--tracking-uri", uri]
    )
    assert result.exit_code == 2
    assert "bemanning train" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


def test_bad_options_are_all_reported_at_once(data_folder: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(data_folder),
            "--out",
            str(tmp_path / "r.pdf"),
            "--pool",
            "staff",
            "--pool",
            "teachers=2",
            "--risk",
            "1.5",
            "--start",
            "2025-13",
            "--substitute-cost-nok-per-hour",
            "0",
            "--language",
            "de",
        ],
    )
    assert result.exit_code == 2
    for where in (
        "--out",
        "--pool, row 1",
        "--pool, row 2",
        "--risk",
        "--start",
        "--substitute-cost-nok-per-hour",
        "--language",
    ):
        assert where in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_report_figures_equal_the_plan_of_the_same_options(
    data_folder: Path, tmp_path: Path
) -> None:
    from data.validate import read_district
    from serving.planning import build_plan
    from serving.report.service import ReportOptions
    from training.registry import load_champion
    from training.research import ensure_champion

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    district = read_district(data_folder)
    ensure_champion(district, tracking_uri=uri, train_into=uri)
    out = tmp_path / "report.html"
    args = [
        "report",
        str(data_folder),
        "--out",
        str(out),
        "--tracking-uri",
        uri,
        "--pool",
        "staff=3",
        "--pool",
        "pedagogue=1",
        "--pool",
        "resource_pedagogue=2",
        "--months",
        "6",
        "--substitute-cost-nok-per-hour",
        "420",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")

    champion = load_champion(uri)
    options = ReportOptions(
        pools_fte={"staff": 3.0, "pedagogue": 1.0, "resource_pedagogue": 2.0}, months=6
    )
    forecasts = champion.pipeline.predict(district, horizon=6)
    plan = build_plan(
        district,
        forecasts,
        options.plan_request(),
        pit_history=champion.pit_history,
        model_version=str(champion.version),
    )
    section = html.split('id="district-summary"')[1].split("</figure>")[0]
    shown = [float(v) for v in re.findall(r'data-value="([^"]+)"', section)]
    summary = plan.summary.set_index("allocation").loc[list(COMPARED)]
    # the section shows unmet need and breaches of every compared allocation; spend has its own
    measures = summary[[c for c in summary.columns if c.startswith(("unmet_", "breach_months_"))]]
    expected = measures.to_numpy().ravel().tolist()
    assert shown == expected
    assert f"versjon {champion.version}" in html and district.fingerprint() in html
    assert "420\u00a0kr" in html and "SIMULERTE DATA" in html and 'lang="nb"' in html
    # English by the app's language setting (BEMANNING_LANGUAGE), the same figures
    english = tmp_path / "report_en.html"
    args_en = [str(english) if a == str(out) else a for a in args]
    result = CliRunner().invoke(app, args_en, env={"BEMANNING_LANGUAGE": "en"})
    assert result.exit_code == 0, result.output
    html_en = english.read_text(encoding="utf-8")
    assert 'lang="en"' in html_en and "Benefit report" in html_en
    section_en = html_en.split('id="district-summary"')[1].split("</figure>")[0]
    assert [float(v) for v in re.findall(r'data-value="([^"]+)"', section_en)] == shown
