"""Plans per district: on a two-district data set each district is planned with its own pools
(from a pools file or per-district options), in parallel processes with the same plans as one
process and as ``--district`` alone, with a city summary that adds the districts up; bad pools
files and unknown districts are reported at once with exit code 2."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from data.contract import KINDERGARTEN_ID, RESOURCES, District
from data.writers import write_district
from models.allocation.comparison import COMPARED
from serving.cli import app
from serving.district_plans import (
    city_summary,
    district_names,
    district_subset,
    parse_district_pools,
    plan_districts,
    read_pools_file,
)
from serving.planning import PlanRequest

runner = CliRunner()
POOLS = {
    # the first district gets staff and pedagogues only, the second resource pedagogues only
    0: {"staff": 3.0, "pedagogue": 1.0, "resource_pedagogue": 0.0},
    1: {"staff": 0.0, "pedagogue": 0.0, "resource_pedagogue": 2.0},
}


@pytest.fixture(scope="module")
def two_districts():
    """SIMULATED: the two largest districts of a simulated city, and seasonal-naive forecasts."""
    from models.forecast.baselines import SeasonalNaive
    from simulate import simulate_district

    city = simulate_district(
        "city", seed=4, n_kindergartens=40, start=pd.Period("2021-01", "M")
    ).district
    largest = city.kindergartens["district"].value_counts().index[:2].tolist()
    kinds = city.kindergartens[city.kindergartens["district"].isin(largest)]
    ids = set(kinds[KINDERGARTEN_ID])
    district = District(
        kindergartens=kinds.reset_index(drop=True),
        monthly=city.monthly[city.monthly[KINDERGARTEN_ID].isin(ids)].reset_index(drop=True),
        population=city.population,
        simulated=True,
        source=city.source,
    )
    forecasts = SeasonalNaive().fit(district).predict(district, horizon=12)
    names = district_names(district)
    return district, forecasts, names, {names[i]: POOLS[i] for i in (0, 1)}


def _plans(two_districts, processes: int, names=None):
    district, forecasts, all_names, pools = two_districts
    return plan_districts(
        district,
        forecasts,
        PlanRequest(pools={}, n_scenarios=40),
        names or all_names,
        pools=pools,
        processes=processes,
    )


def test_each_district_spends_its_own_pools(two_districts) -> None:
    district, _, names, pools = two_districts
    plans = _plans(two_districts, processes=2)
    assert [p.district for p in plans] == names
    for plan in plans:
        kinds = district_subset(district, plan.district).kindergartens
        assert set(plan.result.lines[KINDERGARTEN_ID]) == set(kinds[KINDERGARTEN_ID])
        spent = plan.result.lines.groupby("resource")["change_fte"].sum()
        for resource in RESOURCES:
            pool = pools[plan.district][resource]
            assert spent[resource] <= pool + 1e-9, (plan.district, resource)
            if pool == 0:
                assert spent[resource] == 0
        assert plan.result.header["district"] == plan.district
        shown = plan.result.header["pools_fte"]
        assert shown == {r: v for r, v in pools[plan.district].items()}
    # the pools were useful: something was spent from each district's own pools
    assert plans[0].result.lines.query("resource == 'staff'")["change_fte"].sum() > 0
    assert plans[1].result.lines.query("resource == 'resource_pedagogue'")["change_fte"].sum() > 0


def test_parallel_equals_one_process_and_one_district_alone(two_districts) -> None:
    parallel = _plans(two_districts, processes=2)
    serial = _plans(two_districts, processes=1)
    alone = _plans(two_districts, processes=1, names=[parallel[1].district])
    for a, b in zip(parallel, serial, strict=True):
        pd.testing.assert_frame_equal(a.result.lines, b.result.lines)
    pd.testing.assert_frame_equal(parallel[1].result.lines, alone[0].result.lines)


def test_city_summary_adds_up_the_districts(two_districts) -> None:
    plans = _plans(two_districts, processes=1)
    city = city_summary(plans).set_index("allocation")
    assert tuple(city.index) == COMPARED
    for column in ("unmet_staff_fte_months", "breach_months_pedagogue", "extra_staff_fte"):
        total = sum(p.result.summary.set_index("allocation")[column] for p in plans)
        np.testing.assert_allclose(city[column], total.reindex(city.index), atol=1e-3)


def test_pools_file_and_options_are_read_and_bad_rows_named(tmp_path: Path) -> None:
    good = tmp_path / "pools.csv"
    good.write_text("district,resource,fte\nAlna,staff,3\nAlna,pedagogue,1.5\nBjerke,staff,0\n")
    assert read_pools_file(good) == {
        "Alna": {"staff": 3.0, "pedagogue": 1.5},
        "Bjerke": {"staff": 0.0},
    }
    assert parse_district_pools(["Alna:staff=2", "Alna:pedagogue=1"]) == {
        "Alna": {"staff": 2.0, "pedagogue": 1.0}
    }
    bad = tmp_path / "bad.csv"
    bad.write_text("district,resource,fte\nAlna,teachers,3\n,staff,-1\nAlna,staff,x\n")
    result = runner.invoke(app, ["plan", str(tmp_path), "--pools-file", str(bad)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "resource must be one of staff, pedagogue, resource_pedagogue" in output
    assert "district must not be empty" in output
    assert output.count("FTE must be a finite number ≥ 0") == 2
    assert "Traceback" not in result.output


def test_unknown_district_is_named(two_districts, tmp_path: Path) -> None:
    district, _, names, _ = two_districts
    folder = tmp_path / "data"
    write_district(district, folder)
    result = runner.invoke(
        app,
        [
            "plan",
            str(folder),
            "--pool",
            "staff=1",
            "--district",
            "Atlantis",
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'none.db'}",
        ],
    )
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "must be a district of the data" in output and "Atlantis" in output
    assert names[0] in output
    report = runner.invoke(
        app,
        [
            "report",
            str(folder),
            "--district",
            "Atlantis",
            "--out",
            str(tmp_path / "r.html"),
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'none.db'}",
        ],
    )
    assert report.exit_code == 2, report.output
    assert "must be a district of the data" in " ".join(report.output.split())


def test_report_of_the_district_plans_shows_the_city_summary(two_districts) -> None:
    """The benefit report of the default per-district run: its district-summary figures are the
    city summary (the districts' plans added up), every kindergarten is measured on its own
    district's scenarios, the pools are stated per district and the breakdown lists both."""
    from serving.report.districts import district_benefit_report, pools_shown
    from serving.report.render import render_report_html
    from serving.report.service import ReportOptions

    district, forecasts, names, pools = two_districts
    plans = _plans(two_districts, processes=1)
    options = ReportOptions(given=frozenset({"pools"}))
    report = district_benefit_report(
        district,
        forecasts,
        plans,
        model_version="1",
        options=options,
        per_district=pools,
        request=PlanRequest(pools={}, n_scenarios=40),
    )
    html = render_report_html(report)
    section = html.split('id="district-summary"')[1].split("</figure>")[0]
    shown = [float(v) for v in re.findall(r'data-value="([^"]+)"', section)]
    city = city_summary(plans).set_index("allocation").loc[list(COMPARED)]
    measures = city[[c for c in city.columns if c.startswith(("unmet_", "breach_months_"))]]
    np.testing.assert_allclose(shown, measures.to_numpy().ravel(), atol=1e-3)
    breakdown = html.split('id="districts-table"')[1].split("</figure>")[0]
    assert all(name in breakdown for name in names)
    staff = next(r for r in pools_shown(options, plans, pools) if r.option == "--pool staff")
    assert staff.value == "3 årsverk i alt fordelt på 2 bydeler (2 med egne potter)"
    english = ReportOptions(given=frozenset({"pools"}), language="en")
    staff = next(r for r in pools_shown(english, plans, pools) if r.option == "--pool staff")
    assert staff.value == "3 FTE in all over 2 districts (2 with pools of their own)"


@pytest.mark.slow
def test_report_command_plans_each_district_by_default(two_districts, tmp_path: Path) -> None:
    """`bemanning report DATA` on two districts plans each with its own pools (the pools file),
    as `plan` does, and reports the city with a row per district."""
    from training.retrain import fit_and_promote_untested

    district, _, names, pools = two_districts
    folder = tmp_path / "data"
    write_district(district, folder)
    pools_file = tmp_path / "pools.csv"
    rows = [f"{d},{r},{v}" for d, given in pools.items() for r, v in given.items()]
    pools_file.write_text("district,resource,fte\n" + "\n".join(rows) + "\n", encoding="utf-8")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    fit_and_promote_untested(
        district,
        tracking_uri=uri,
        pipeline_params={
            "lgbm_params": {"n_estimators": 15, "num_leaves": 7},
            "calibration_origins": 1,
            "max_rows_per_model": 3000,
        },
        purpose="test fixture",
    )
    out = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "report",
            str(folder),
            "--pools-file",
            str(pools_file),
            "--out",
            str(out),
            "--tracking-uri",
            uri,
            "--processes",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    breakdown = html.split('id="districts-table"')[1].split("</figure>")[0]
    assert all(name in breakdown for name in names)
    assert "årsverk i alt fordelt på 2 bydeler (2 med egne potter)" in html  # bokmål by default
