"""The app with a trained champion: overview and kindergarten pages, a plan solved, pinned,
re-solved and approved through the API, exports opened the way a planner or Power BI would, and
privacy suppression for viewers and exports."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from app_fixtures import DISTRICT_A, AppHarness

from data.contract import PLAN_COLUMNS, SIMULATED_LABEL

pytestmark = pytest.mark.slow


def _plan(client, **extra):  # type: ignore[no-untyped-def]
    body = {"pools": {"staff": 3, "pedagogue": 1, "resource_pedagogue": 1}, **extra}
    response = client.post("/api/plans", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_overview_lists_only_the_planners_kindergartens_with_band_need_and_flags(
    trained_harness: AppHarness, sim_district
) -> None:  # type: ignore[no-untyped-def]
    anna, admin = trained_harness.client_for("anna"), trained_harness.client_for("admin")
    data = anna.get("/api/overview").json()
    kg = sim_district.kindergartens
    still_open = kg["closed"].isna() | (kg["closed"] > sim_district.last_month)
    own = set(kg.loc[(kg["district"] == DISTRICT_A) & still_open, "kindergarten_id"])
    assert data["simulated"] is True and data["model_version"]
    assert {row["kindergarten_id"] for row in data["kindergartens"]} == own
    assert len(admin.get("/api/overview").json()["kindergartens"]) == still_open.sum()
    for row in data["kindergartens"]:
        assert len(row["band_p50"]) == 12
        assert all(
            lo <= mid <= hi
            for lo, mid, hi in zip(row["band_p10"], row["band_p50"], row["band_p90"], strict=True)
        )
        # the staffing norm: (2·U3 + O3) / 6 FTE, so the need can never exceed children / 3
        assert 0 < row["need_staff_fte_p50"] <= row["need_staff_fte_p90"]
        assert 0 <= row["breach_probability"] <= 1
        assert row["flag_breach"] == (row["breach_probability"] >= 0.2)
    page = anna.get("/?sort=breach_probability&dir=desc")
    assert page.status_code == 200 and '<svg class="band"' in page.text
    assert SIMULATED_LABEL in page.text
    filtered = anna.get("/?flag=breach")
    n_breach = sum(r["flag_breach"] for r in data["kindergartens"])
    assert filtered.text.count('<svg class="band"') == n_breach


def test_kindergarten_page_has_fan_charts_drivers_and_plotly_from_the_package(
    trained_harness: AppHarness, sim_district
) -> None:  # type: ignore[no-untyped-def]
    anna = trained_harness.client_for("anna")
    kg = sim_district.kindergartens
    kg_id = kg.loc[(kg["district"] == DISTRICT_A) & kg["closed"].isna(), "kindergarten_id"].iloc[0]
    page = anna.get(f"/kindergartens/{kg_id}")
    assert page.status_code == 200
    # the figures travel as JSON data blocks, drawn by /static/pages.js (no inline script)
    assert page.text.count("data-chart=") >= 4 and "/static/plotly.min.js" in page.text
    assert "cdn" not in page.text.lower()
    drivers = page.text.split("What drives the forecast")[1].split("Allocation history")[0]
    assert drivers.count("<h3>") >= 2 and "<th>contribution</th>" in drivers
    js = anna.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    detail = anna.get(f"/api/kindergartens/{kg_id}").json()
    assert {f["target"] for f in detail["forecasts"]} >= {"children_under3", "children_over3"}
    assert detail["drivers"] and "contribution" in detail["drivers"][0]


def test_viewers_and_exports_show_small_decision_counts_as_suppressed(
    trained_harness: AppHarness,
) -> None:
    anna, vera = trained_harness.client_for("anna"), trained_harness.client_for("vera")
    planner_rows = anna.get("/api/overview").json()["kindergartens"]
    viewer_rows = vera.get("/api/overview").json()["kindergartens"]
    by_id = {r["kindergarten_id"]: r for r in viewer_rows}
    for row in planner_rows:
        shown = by_id[row["kindergarten_id"]]["vedtak_31"]
        if row["vedtak_31"] is not None and row["vedtak_31"] < 5:
            assert shown == "<5"
        elif row["vedtak_31"] is not None:
            assert shown == str(round(row["vedtak_31"]))
    kg_id = planner_rows[0]["kindergarten_id"]
    history = vera.get(f"/api/kindergartens/{kg_id}").json()["history"]
    assert all(
        row["vedtak_31"] == "<5" or float(row["vedtak_31"]) >= 5
        for row in history
        if row["vedtak_31"] not in (None, "–")
    )
    page = vera.get(f"/kindergartens/{kg_id}").text
    assert "chart-vedtak_31" not in page and "chart-children_under3" in page
    assert "chart-vedtak_31" in anna.get(f"/kindergartens/{kg_id}").text
    table = pd.read_csv(io.BytesIO(anna.get("/exports/tables/overview.csv").content), dtype=str)
    assert (table["data_label"] == SIMULATED_LABEL).all()
    numbers = pd.to_numeric(table["vedtak_31"], errors="coerce")
    assert not (numbers < 5).any()  # a planner's export is internal too
    forecasts = pd.read_parquet(io.BytesIO(anna.get("/exports/tables/forecasts.parquet").content))
    decisions = forecasts[forecasts["target"].str.startswith("vedtak")]
    values = pd.to_numeric(decisions["p50"], errors="coerce")
    assert not (values < 5).any() and (decisions["p50"] == "<5").any() | values.notna().all()


def test_plan_solve_pin_resolve_approve_and_export(trained_harness: AppHarness) -> None:
    from openpyxl import load_workbook

    anna = trained_harness.client_for("anna")
    plan = _plan(anna)
    assert plan["district"] == DISTRICT_A and plan["status"] == "draft" and plan["simulated"]
    pools = {"staff": 3, "pedagogue": 1, "resource_pedagogue": 1}
    for resource, pool in pools.items():
        added = sum(max(ln["change_fte"], 0) for ln in plan["lines"] if ln["resource"] == resource)
        assert added <= pool + 1e-6  # a plan never spends more than the pool
    assert {row["allocation"] for row in plan["summary"]} >= {"plan", "proportional"}
    line = max(plan["lines"], key=lambda ln: ln["change_fte"])
    pinned = anna.post(
        f"/api/plans/{plan['id']}/lines/{line['id']}/pins",
        json={"kind": "ban", "comment": "the building is full", "row_version": line["row_version"]},
    ).json()
    assert pinned["line"]["planned_fte"] == line["current_fte"]
    assert pinned["line"]["suggested_fte"] == line["suggested_fte"]  # solved figure kept
    resolved = anna.post(f"/api/plans/{plan['id']}/resolve")
    assert resolved.status_code == 201
    new = resolved.json()
    assert new["parent_id"] == plan["id"] and new["version"] == 2
    same = next(
        ln
        for ln in new["lines"]
        if (ln["kindergarten_id"], ln["resource"]) == (line["kindergarten_id"], line["resource"])
    )
    assert same["change_fte"] == 0 and same["overridden"]  # the optimiser honoured the ban
    assert any("ban" in p for p in new["header"]["pins"])
    approved = anna.post(
        f"/api/plans/{new['id']}/approve", json={"comment": "ok", "revision": new["revision"]}
    ).json()
    assert approved["status"] == "approved"

    book = load_workbook(io.BytesIO(anna.get(f"/exports/plans/{new['id']}.xlsx").content))
    assert book.sheetnames[:2] == ["header", "lines"]
    header = {row[0]: row[1] for row in book["header"].iter_rows(min_row=2, values_only=True)}
    assert header["model_version"] == approved["model_version"]
    assert header["data_fingerprint"] == approved["data_fingerprint"]
    assert header["status"] == "approved" and header["data"] == SIMULATED_LABEL
    assert "parameter: pools" in header
    rows = list(book["lines"].iter_rows(values_only=True))
    assert rows[0][0] == SIMULATED_LABEL and set(rows[0][1:]) <= {None}
    assert list(rows[1][: len(PLAN_COLUMNS)]) == list(PLAN_COLUMNS)
    assert len(rows) - 2 == len(approved["lines"])
    csv = pd.read_csv(io.BytesIO(anna.get(f"/exports/plans/{new['id']}.csv").content))
    assert len(csv) == len(approved["lines"]) and (csv["approved"]).all()
    history = anna.get("/api/plans").json()
    assert [p["id"] for p in history][:2] == [new["id"], plan["id"]]
    page = anna.get(f"/plans/diff?a={plan['id']}&b={new['id']}")
    assert page.status_code == 200 and "line(s) differ" in page.text
