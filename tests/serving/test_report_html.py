"""The benefit report as a reader gets it: one HTML file with every section, the plan summary's
own figures, no external link, small decision counts suppressed, simulated data labelled, and it
opens in Chromium (headless screenshot kept under test-artifacts/)."""

from __future__ import annotations

import math
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from chromium_fixtures import CHROMIUM_ARGS, chromium_or_skip
from report_fixtures import last_value_forecasts, small_district

from data.contract import District
from serving.planning import PlanRequest, build_plan
from serving.report.numbers import COMPARED, KEY, PLAN
from serving.report.render import render_report_html, write_report
from serving.report.service import PLAN_FIELDS_GIVEN, ReportOptions, benefit_report_for_plan
from serving.report.wording import allocation_word, resource_word, target_word

SECTIONS = (
    "benefits",
    "district",
    "trade-offs",
    "substitute-cost",
    "areas",
    "kindergartens",
    "forecast-quality",
    "evidence",
    "provenance",
    "method",
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class TableCells(HTMLParser):
    """Cells of every ``<figure class="table" id=...>``: text and ``data-value`` per row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self.ids: set[str] = set()
        self.headings: list[str] = []
        self.urls: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._value: str | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        for key in ("src", "href"):
            if a.get(key):
                self.urls.append(str(a[key]))
        if tag == "figure" and a.get("class") == "table":
            self._table = str(a["id"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag == "td" and self._table is not None:
            self._cell, self._value = [], a.get("data-value")
        elif tag == "h2":
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(("".join(self._cell).strip(), self._value))
            self._cell = None
        elif tag == "figure":
            self._table = None
        elif tag == "h2" and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)

    def rows(self, table: str) -> list[list[tuple[str, str | None]]]:
        return [r for r in self.tables[table] if r]


@pytest.fixture(scope="module")
def planned() -> tuple[District, pd.DataFrame, PlanRequest, object]:
    district = small_district(seed=3, n_kindergartens=10)
    forecasts = last_value_forecasts(district)
    request = PlanRequest(
        pools={"staff": 4.0, "pedagogue": 2.0, "resource_pedagogue": 2.0}, n_scenarios=100
    )
    return (
        district,
        forecasts,
        request,
        build_plan(district, forecasts, request, model_version="test"),
    )


def backtest_metrics() -> pd.DataFrame:
    """A metrics table in the backtest's layout: the model halves the baseline's error."""
    rows = []
    for target in ("children_under3", "vedtak_31"):
        for horizon in (1, 12):
            rows.append((target, horizon, "lightgbm", 0.05, 0.81, 100))
            rows.append((target, horizon, "seasonal_naive", 0.10, 0.60, 100))
            rows.append((target, horizon, "last_value", 0.09, 0.55, 100))
    return pd.DataFrame(rows, columns=["target", "horizon", "model", "wape", "coverage_80", "n"])


@pytest.fixture(scope="module")
def report_html(planned: tuple) -> tuple[str, object]:
    district, forecasts, request, plan = planned
    report = benefit_report_for_plan(
        district, forecasts, request, plan, model_version="7", backtest_metrics=backtest_metrics()
    )
    return render_report_html(report), report


@pytest.fixture(scope="module")
def parsed(report_html: tuple[str, object]) -> TableCells:
    parser = TableCells()
    parser.feed(report_html[0])
    return parser


def test_report_has_every_section(parsed: TableCells) -> None:
    assert set(SECTIONS) <= parsed.ids
    assert len(parsed.headings) == len(SECTIONS)
    for table in (
        "benefits-table",
        "district-summary",
        "district-spend",
        "trade-offs-table",
        "substitute-table",
        "areas-table",
        "kindergartens-table",
        "forecast-quality-table",
        "options-table",
    ):
        assert parsed.rows(table), f"{table} is empty"


def test_district_figures_equal_the_plan_summary(planned: tuple, parsed: TableCells) -> None:
    summary = planned[3].summary.set_index("allocation")
    need, spend = parsed.rows("district-summary"), parsed.rows("district-spend")
    labels = [allocation_word("nb", a) for a in COMPARED]
    assert [r[0][0] for r in need] == labels and [r[0][0] for r in spend] == labels
    numeric_columns = [c for c in summary.columns if pd.api.types.is_numeric_dtype(summary[c])]
    for allocation, need_row, spend_row in zip(COMPARED, need, spend, strict=True):
        values = [float(v) for _, v in need_row[1:] + spend_row[1:] if v is not None]
        assert values == [float(summary.at[allocation, c]) for c in numeric_columns]


def test_every_table_fits_1400_px(report_html: tuple[str, object], tmp_path: Path) -> None:
    """No table is cut off (scrolls sideways) in a 1,400 px wide window: measured by headless
    Chromium on the rendered page (scrollWidth of every table's scroll box)."""
    chromium = chromium_or_skip()
    page = write_report(report_html[1], tmp_path / "report.html")  # type: ignore[arg-type]
    script = (
        "<script>window.onload=()=>{document.title=JSON.stringify("
        "[...document.querySelectorAll('.scroll')].filter(b=>b.scrollWidth>b.clientWidth+1)"
        ".map(b=>b.parentElement.id))}</script>"
    )
    measured = page.with_name("measured.html")
    measured.write_text(page.read_text(encoding="utf-8").replace("</body>", script + "</body>"))
    result = subprocess.run(
        [
            str(chromium),
            "--headless",
            *CHROMIUM_ARGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,2000",
            "--virtual-time-budget=5000",
            "--dump-dom",
            measured.as_uri(),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    title = re.search(r"<title>(.*?)</title>", result.stdout, re.DOTALL)
    assert title is not None
    assert title.group(1).strip() == "[]", f"tables cut off at 1,400 px: {title.group(1)}"


def test_the_report_shows_the_plans_own_compared_allocations(planned: tuple) -> None:
    """One allocation set: the per-kindergarten outcomes measure exactly the arrays the plan
    carries (and summarised), not a key recomputed on the side."""
    from serving.report.outcomes import allocation_changes

    district, _, request, plan = planned
    ids, changes = allocation_changes(district, request, plan)
    assert ids == plan.compared.kindergarten_ids
    assert list(changes) == list(COMPARED)
    for name in COMPARED:
        assert changes[name] is plan.compared.changes[name]
    summary = plan.summary.set_index("allocation")
    for name in COMPARED:
        assert summary.at[name, "cost_nok"] == pytest.approx(plan.compared.spend_nok[name])
        assert plan.header["spend_nok"][name] == pytest.approx(plan.compared.spend_nok[name])


def test_benefits_are_the_summary_differences(planned: tuple, parsed: TableCells) -> None:
    summary = planned[3].summary.set_index("allocation")
    measure = f"Udekket behov for {resource_word('nb', 'staff').lower()}"
    staff = next(r for r in parsed.rows("benefits-table") if r[1][0] == measure)
    plan_value, key_value, _, gain_vs_key, _ = (float(v) for _, v in staff[3:8] if v)
    assert plan_value == summary.at[PLAN, "unmet_staff_fte_months"]
    assert key_value == summary.at[KEY, "unmet_staff_fte_months"]
    assert gain_vs_key == pytest.approx(key_value - plan_value)


def test_areas_and_kindergartens_add_up_to_the_district(planned: tuple, parsed: TableCells) -> None:
    summary = planned[3].summary.set_index("allocation")
    unmet = [c for c in summary.columns if c.startswith("unmet_")]
    plan_total = float(summary.loc[PLAN, unmet].sum())
    areas = parsed.rows("areas-table")
    assert sum(float(r[4][1] or 0) for r in areas) == pytest.approx(plan_total, abs=1e-3)
    shares = [float(r[3][1]) for r in areas if r[3][1] is not None]
    assert shares == sorted(shares, reverse=True), "areas must be ranked by low-income share"
    kindergartens = parsed.rows("kindergartens-table")
    assert len(kindergartens) == planned[3].lines["kindergarten_id"].nunique()


def test_decision_counts_under_five_are_suppressed(planned: tuple, parsed: TableCells) -> None:
    district = planned[0]
    last = district.monthly.sort_values("month").groupby("kindergarten_id").tail(1)
    assert (last["vedtak_31"] < 5).any(), "the fixture must hold small counts to check"
    cells = [cell for row in parsed.rows("kindergartens-table") for cell in row[4:6]]
    assert any(text == "<5" for text, _ in cells)
    for text, value in cells:
        if text == "<5":
            assert value is None, "a suppressed count must not leak through data-value"
        elif text != "–":
            assert float(text) >= 5 and value is not None and float(value) >= 5


def test_report_is_self_contained(report_html: tuple[str, object], parsed: TableCells) -> None:
    html = report_html[0]
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE)
    assert "<link" not in html and "<script" not in html
    images = [u for u in parsed.urls if not u.startswith("#")]
    assert images and all(u.startswith("data:image/png;base64,") for u in images)


def test_simulated_data_is_labelled_and_real_data_is_not(
    planned: tuple, report_html: tuple[str, object]
) -> None:
    assert "SIMULERTE DATA" in report_html[0] and 'id="simulated-label"' in report_html[0]
    district, forecasts, request, _ = planned
    real = District(
        district.kindergartens,
        district.monthly,
        district.population,
        simulated=False,
        source="a district's export",
    )
    real_plan = build_plan(real, forecasts, request, model_version="test")
    html = render_report_html(
        benefit_report_for_plan(
            real, forecasts, request, real_plan, model_version="7", with_figures=False
        )
    )
    # (the fixture's kindergarten names still end in "(simulated)": only the label is checked)
    assert "SIMULERT" not in html and 'id="simulated-label"' not in html


def test_forecast_quality_compares_with_the_best_baseline(parsed: TableCells) -> None:
    rows = parsed.rows("forecast-quality-table")
    assert {r[0][0] for r in rows} == {
        target_word("nb", "children_under3"),
        target_word("nb", "vedtak_31"),
    }
    for row in rows:
        assert row[1][0] == "WAPE for medianen"
        # last value (0.09) beats seasonal naive (0.10) at every horizon: it is the baseline
        assert float(row[2][1]) == pytest.approx(0.05) and float(row[3][1]) == pytest.approx(0.09)
        assert float(row[4][1]) == pytest.approx(0.05 / 0.09)  # < 1: the model beats it
        assert float(row[5][1]) == pytest.approx(0.81) and float(row[6][1]) == pytest.approx(0.55)


def test_options_shown_are_the_plans_and_defaults_are_stated(
    planned: tuple, report_html: tuple[str, object], parsed: TableCells
) -> None:
    options = {r[0][0]: (r[1][0], r[2][0]) for r in parsed.rows("options-table")}
    assert options["Pott til grunnbemanning"][0] == "4,0 årsverk"  # the plan's, not a default
    assert options["Pott til ressurspedagoger"][0] == "2,0 årsverk"
    assert options["Budsjett for planperioden"][0] == "ingen grense"
    assert options["Pris per vikartime"] == ("350\u00a0kr", "standard (ikke oppgitt)")
    request = planned[2]
    flags = {o.option: o.value for o in ReportOptions(given=PLAN_FIELDS_GIVEN).shown(request)}
    assert flags["--pool staff"] == "4,0 årsverk" and flags["--budget"] == "ingen grense"
    english = ReportOptions(given=PLAN_FIELDS_GIVEN, language="en").shown(request)
    assert {o.option: o.value for o in english}["--budget"] == "no limit"
    cli_like = ReportOptions(given=frozenset({"pools"}))
    shown = {o.option: o for o in cli_like.shown(request)}
    assert shown["--pool staff"].given and not shown["--risk"].given
    provenance = report_html[1].provenance
    assert ("Modell", "bemanning-needs versjon 7") in provenance
    assert dict(provenance)["Datafingeravtrykk"] == report_html[1].data_fingerprint


def test_substitute_cost_follows_the_given_hourly_cost(planned: tuple) -> None:
    district, forecasts, request, plan = planned
    costs = {}
    for nok in (300.0, 600.0):
        options = ReportOptions(
            substitute_cost_nok_per_hour=nok, given=frozenset({"substitute_cost"})
        )
        report = benefit_report_for_plan(
            district,
            forecasts,
            request,
            plan,
            model_version="7",
            options=options,
            with_figures=False,
        )
        costs[nok] = report.substitute.frame.set_index("allocation")["substitute_cost_nok"]
    assert (costs[600.0] == 2 * costs[300.0]).all()
    assert not math.isnan(costs[300.0][PLAN])


def test_report_opens_in_chromium(report_html: tuple[str, object], tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    ARTIFACTS.mkdir(exist_ok=True)
    page = write_report(report_html[1], ARTIFACTS / "benefit_report.html")  # type: ignore[arg-type]
    screenshot = ARTIFACTS / "benefit_report.png"
    screenshot.unlink(missing_ok=True)
    subprocess.run(
        [
            str(chromium),
            "--headless",
            *CHROMIUM_ARGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            "--window-size=1400,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert screenshot.exists() and screenshot.stat().st_size > 20_000


def test_a_city_wide_run_is_also_shown_per_district(planned: tuple) -> None:
    district, forecasts, request, _ = planned
    kindergartens = district.kindergartens.copy()
    kindergartens.loc[kindergartens.index[::2], "district"] = "Bydel Grünerløkka"
    city = District(
        kindergartens, district.monthly, district.population, simulated=True, source=district.source
    )
    plan = build_plan(city, forecasts, request, model_version="test")
    report = benefit_report_for_plan(
        city, forecasts, request, plan, model_version="7", with_figures=False
    )
    assert report.per_district is not None
    per_district = report.per_district.frame
    assert set(per_district["district"]) == {"Bydel Gamle Oslo", "Bydel Grünerløkka"}
    summary = plan.summary.set_index("allocation")
    unmet = [c for c in summary.columns if c.startswith("unmet_")]
    assert per_district[PLAN].sum() == pytest.approx(
        float(summary.loc[PLAN, unmet].sum()), abs=1e-3
    )
    assert 'id="districts-table"' in render_report_html(report)
    # a single district needs no such table
    single = benefit_report_for_plan(
        district, forecasts, request, planned[3], model_version="7", with_figures=False
    )
    assert single.per_district is None
