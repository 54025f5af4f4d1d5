"""The app with a trained champion: overview and kindergarten pages, a plan solved, pinned,
re-solved and approved through the API, exports opened the way a planner or Power BI would, and
privacy suppression for viewers and exports."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from app_fixtures import DISTRICT_A, AppHarness

from data.contract import SIMULATED_LABEL

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
        assert row["flag_breach"] == ((not row["legal_ok_now"]) or row["breach_probability"] >= 0.2)
        assert 0 <= row["effective_breach_probability"] <= 1
    page = anna.get("/?sort=breach_probability&dir=desc")
    assert page.status_code == 200 and '<svg class="band"' in page.text
    assert 'data-testid="simulated-label">SIMULERTE DATA' in page.text
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
    assert page.text.count("data-chart=") >= 4 and "/static/pages.js" in page.text
    assert "cdn" not in page.text.lower()
    assert page.text.count("<details><summary>Tabell:") >= 4  # each chart has its table
    drivers = page.text.split("Hva som driver prognosen")[1].split("Fordelinger i planer")[0]
    assert drivers.count("<h3>") >= 2 and "Flytter prognosen med" in drivers
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


def test_every_table_export_answers_a_viewer(trained_harness: AppHarness) -> None:
    """Issue 20: a viewer's overview.csv answered 500 ("<5" applied twice) and another of a
    viewer's table exports dropped the connection."""
    plan = _plan(trained_harness.client_for("anna"))
    vera = trained_harness.client_for("vera")  # a viewer of anna's district
    for table in ("plans", "plan_lines", "forecasts", "overview", "key_figures"):
        for fmt in ("csv", "parquet"):
            answer = vera.get(f"/exports/tables/{table}.{fmt}")
            assert answer.status_code == 200, (table, fmt, answer.text[:300])
            frame = (
                pd.read_csv(io.BytesIO(answer.content), dtype=str)
                if fmt == "csv"
                else pd.read_parquet(io.BytesIO(answer.content))
            )
            assert len(frame) > 0, (table, fmt)
            if table == "plan_lines":
                assert set(frame["plan_id"]) == {plan["id"]}
            for column in ("vedtak_31", "vedtak_37"):
                if column in frame.columns and fmt == "csv":
                    numbers = pd.to_numeric(frame[column], errors="coerce")
                    assert not (numbers < 5).any(), (table, column)  # suppressed once, as "<5"
                    assert not frame[column].astype(str).str.contains("<<").any()


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
    assert book.sheetnames[:2] == ["Plan", "Linjer"]
    header = {r[0]: r[1] for r in book["Plan"].iter_rows(min_row=3, values_only=True)}
    assert header["Modellversjon"] == approved["model_version"]
    assert header["Datafingeravtrykk"] == approved["data_fingerprint"]
    assert header["Status"] == "Godkjent" and header["Data"].startswith("SIMULERTE DATA")
    assert header["Pott: Grunnbemanning (ekstra årsverk)"] == 3
    rows = list(book["Linjer"].iter_rows(values_only=True))
    assert rows[0][0].endswith("SIMULERTE DATA — ikke virkelige barnehager")
    assert rows[1][:3] == ("Barnehage", "Barnehagenummer", "Ressurs")
    assert len(rows) - 2 == len(approved["lines"])
    anna.cookies.set("bemanning_lang", "en")  # the user's choice of language
    english = load_workbook(io.BytesIO(anna.get(f"/exports/plans/{new['id']}.xlsx").content))
    anna.cookies.delete("bemanning_lang")
    assert english.sheetnames[:2] == ["Plan", "Lines"]
    # the plan's CSV is for people: the lines sheet in the user's language, Norwegian dialect
    csv = pd.read_csv(
        io.BytesIO(anna.get(f"/exports/plans/{new['id']}.csv").content),
        sep=";",
        decimal=",",
        encoding="utf-8-sig",
    )
    assert len(csv) == len(approved["lines"]) and (csv["Godkjent"] == "ja").all()
    assert csv["Data"].eq("SIMULERTE DATA — ikke virkelige barnehager").all()
    assert set(csv["Prognose brukt"]) <= {
        "modellprognose",
        "reserveprognose (kort historikk)",
        "reserveprognose (hull i dataene)",
    } and not any("_" in str(c) for c in csv.columns)
    assert csv["Planlagt (årsverk)"].dtype == float
    # the explanation in words, and the pin sentence beside it
    reasons = csv["Hvorfor"].astype(str)
    assert reasons.str.contains("Behov: ").all() and not reasons.str.contains("binding").any()
    pinned = csv["Lås"].dropna().astype(str)
    assert len(pinned) and all(r.startswith("Låst av") for r in pinned)
    # the Parquet file of the same plan is for reports: machine names and codes
    parquet = pd.read_parquet(io.BytesIO(anna.get(f"/exports/plans/{new['id']}.parquet").content))
    assert {"planned_fte", "approved", "forecast"} <= set(parquet.columns)
    assert parquet["forecast"].astype(str).str.match(r"model|fallback").all()
    history = anna.get("/api/plans").json()
    assert [p["id"] for p in history][:2] == [new["id"], plan["id"]]
    page = anna.get(f"/plans/diff?a={plan['id']}&b={new['id']}")
    assert page.status_code == 200
    stored = anna.get(f"/api/plans/{plan['id']}").json()["lines"]  # plan A as it is stored now
    before = {(ln["kindergarten_id"], ln["resource"]): ln for ln in stored}
    # a line differs when its planned figure does, or when a pin sets it in either version
    differing = sum(
        1
        for ln in new["lines"]
        if abs(before[(ln["kindergarten_id"], ln["resource"])]["planned_fte"] - ln["planned_fte"])
        > 1e-9
        or before[(ln["kindergarten_id"], ln["resource"])].get("pin")
        or ln.get("pin")
    )
    assert f'data-testid="diff-count">{differing} linje' in page.text


def test_admin_overview_pages_and_filters(
    trained_harness: AppHarness, sim_district, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The admin's overview of every district, a page of rows at a time, with the filters and
    sort carried over to the other pages."""
    from serving.app.routes import pages

    monkeypatch.setattr(pages, "OVERVIEW_PAGE_SIZE", 5)
    admin = trained_harness.client_for("admin")
    n_rows = len(admin.get("/api/overview").json()["kindergartens"])
    assert n_rows > 10
    seen = 0
    n_pages = -(-n_rows // 5)
    for number in range(1, n_pages + 1):
        page = admin.get(f"/?sort=name&dir=asc&page={number}")
        assert page.status_code == 200
        bands = page.text.count('<svg class="band"')
        assert bands == min(5, n_rows - seen)
        seen += bands
        assert f"Side {number} av {n_pages} ({n_rows} barnehager)" in page.text
        assert ('rel="next"' in page.text) == (number < n_pages)
    assert seen == n_rows
    # past the last page: the last page; a filter narrows the count the pager shows
    assert f"Side {n_pages} av {n_pages}" in admin.get(f"/?page={n_pages + 7}").text
    district = sorted(sim_district.kindergartens["district"].unique())[0]
    narrowed = admin.get(f"/?district={district}&page=1")
    assert narrowed.text.count('<svg class="band"') <= 5
    assert "overview-pager" not in narrowed.text or f"district={district}" in narrowed.text
