"""The report's evidence section (issue #19 item 4): «had the district planned this way in the last
N years» from the decision backtest, hand-made figures checked cell by cell, the section in the
rendered report (and its note when there is no backtest), and the round trip through MLflow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from report_fixtures import last_value_forecasts, small_district

from serving.report.evidence import build_evidence, load_evidence, year_label
from training.decision_scoring import hours_per_fte_month
from training.decisions import (
    DecisionBacktest,
    DecisionPolicy,
    PlanSettings,
    summarise,
)

#: per origin: allocation → (unmet staff, pedagogue, resource pedagogue) FTE-months
UNMET = {
    "2023-07": {
        "plan": (20.0, 6.0, 4.0),
        "key": (30.0, 8.0, 7.0),
        "no_pool": (50.0, 12.0, 10.0),
        "median_only": (24.0, 7.0, 4.0),
        "oracle": (15.0, 5.0, 3.0),
        "plan_equity_0": (19.0, 6.0, 4.0),
        "plan_risk_neutral": (21.0, 6.0, 4.0),
    },
    "2024-07": {
        "plan": (10.0, 4.0, 2.0),
        "key": (14.0, 5.0, 3.0),
        "no_pool": (30.0, 9.0, 6.0),
        "median_only": (12.0, 4.0, 2.0),
        "oracle": (8.0, 4.0, 2.0),
        "plan_equity_0": (10.0, 4.0, 2.0),
        "plan_risk_neutral": (9.0, 4.0, 2.0),
    },
}
COST_PER_HOUR = 400.0


def outcomes() -> pd.DataFrame:
    rows = []
    for origin, by in UNMET.items():
        for allocation, (staff, ped, res) in by.items():
            rows.append(
                {
                    "origin": origin,
                    "allocation": allocation,
                    "unmet_staff": staff,
                    "unmet_pedagogue": ped,
                    "unmet_resource_pedagogue": res,
                    "unmet_total": staff + ped + res,
                }
            )
    return pd.DataFrame(rows)


def test_the_evidence_shows_each_year_and_all_years_with_the_gap_closed() -> None:
    section = build_evidence(outcomes(), summarise(outcomes()), substitute_nok_per_hour=400)
    assert section is not None and section.n_years == 2
    frame = section.years.frame.set_index("year")
    assert list(frame.index) == ["2023/24", "2024/25", "Alle år samlet"]
    first = frame.loc["2023/24"]
    assert (first["plan"], first["key"], first["no_pool"], first["oracle"]) == (30, 45, 72, 23)
    assert first["gap_closed"] == pytest.approx((45 - 30) / (45 - 23))
    overall = frame.loc["Alle år samlet"]
    assert overall["plan"] == 30 + 16
    assert overall["gap_closed"] == pytest.approx((67 - 46) / (67 - 37))
    # substitute cost: staff + resource pedagogue FTE-months × hours × the report's price
    avoided = ((30 + 7) - (20 + 4)) * hours_per_fte_month() * COST_PER_HOUR
    assert first["avoided_cost"] == pytest.approx(avoided)
    costs = section.settings_cost
    assert costs is not None
    by_year = costs.frame.set_index("year")
    assert by_year.loc["2023/24", "cost_plan_equity_0"] == pytest.approx(30 - 29)
    assert by_year.loc["2024/25", "cost_plan_risk_neutral"] == pytest.approx(16 - 15)
    assert "de siste 2 barnehageårene" in section.headline
    assert "70\u00a0%" in section.headline  # 21 / 30 of the gap, all years together
    words = " ".join([*section.years.header(), *costs.header(), *section.notes])
    for norwegian in ("Barnehageår", "Fordelingsnøkkel", "Uten ekstra ressurser", "likhetsvekt"):
        assert norwegian in words
    assert "_" not in words  # no snake_case on a page


def test_year_labels_name_the_kindergarten_year_planned() -> None:
    assert year_label("2023-07") == "2023/24"
    assert year_label("2099-07") == "2099/00"


def test_no_year_gives_no_section() -> None:
    summary = pd.DataFrame([{"origin": "overall", "regret": 0.2}])
    assert build_evidence(outcomes().iloc[:0], summary, substitute_nok_per_hour=350) is None


@pytest.fixture(scope="module")
def report() -> object:
    from serving.planning import PlanRequest, build_plan
    from serving.report.service import benefit_report_for_plan

    district = small_district(seed=3, n_kindergartens=8)
    forecasts = last_value_forecasts(district)
    request = PlanRequest(pools={"staff": 2.0, "pedagogue": 1.0}, n_scenarios=30)
    plan = build_plan(district, forecasts, request)
    return benefit_report_for_plan(
        district, forecasts, request, plan, model_version="7", with_figures=False
    )


def test_the_report_shows_the_section_and_says_how_to_make_it_when_missing(report) -> None:
    from serving.report.render import render_report_html

    html = render_report_html(report)
    assert 'id="evidence-missing"' in html and "bemanning backtest DATA --plans" in html
    report.evidence = build_evidence(
        outcomes(), summarise(outcomes()), substitute_nok_per_hour=COST_PER_HOUR
    )
    try:
        html = render_report_html(report)
    finally:
        report.evidence = None
    assert 'id="evidence-table"' in html and 'id="evidence-settings-table"' in html
    assert "Hadde bydelen planlagt slik" in html
    assert "Alle år samlet" in html
    assert 'href="#evidence"' in html


def test_the_section_reads_the_backtest_logged_with_the_models_run(tmp_path: Path) -> None:
    from training.decision_tracking import log_decision_backtest
    from training.settings import load_settings

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    result = DecisionBacktest(
        outcomes=outcomes(),
        regrets=pd.DataFrame(),
        summary=summarise(outcomes()),
        origins=[pd.Period(o, "M") for o in UNMET],
        settings=PlanSettings(),
        policy=DecisionPolicy(pools={"staff": 8.0}),
    )
    run_id = log_decision_backtest(load_settings(uri), result, run_id=None, simulated=True)
    section = load_evidence(uri, run_id, substitute_nok_per_hour=COST_PER_HOUR)
    expected = build_evidence(
        outcomes(), summarise(outcomes()), substitute_nok_per_hour=COST_PER_HOUR
    )
    assert section is not None and expected is not None
    pd.testing.assert_frame_equal(section.years.frame, expected.years.frame)
    assert load_evidence(uri, None, substitute_nok_per_hour=COST_PER_HOUR) is None
