"""The admin starts one plan per district in one call (each district with its own pools, the city
summary beside them), a planner may not; the overview filters by municipality as well as district
and flag, and pages through a nation's kindergartens (the API as the page)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from app_fixtures import DISTRICT_A, AppHarness

from serving.app.views import municipality_of


def test_municipality_is_the_data_column_else_oslo_for_its_bydeler() -> None:
    kinds = pd.DataFrame(
        {"district": ["Bydel Alna", "Kommune 007 (simulated)", "Bydel Sagene"]}, index=[5, 6, 7]
    )
    assert municipality_of(kinds).tolist() == ["Oslo", "Kommune 007 (simulated)", "Oslo"]
    assert municipality_of(kinds).index.tolist() == [5, 6, 7]
    given = kinds.assign(municipality=["Oslo", "Bærum", "Oslo"])
    assert municipality_of(given).tolist() == ["Oslo", "Bærum", "Oslo"]


@pytest.mark.slow
def test_admin_plans_every_district_with_its_own_pools_and_a_city_summary(
    trained_harness: AppHarness, sim_district
) -> None:  # type: ignore[no-untyped-def]
    admin, anna = trained_harness.client_for("admin"), trained_harness.client_for("anna")
    kg = sim_district.kindergartens
    names = sorted({DISTRICT_A, *sorted(kg["district"].unique())[:2]})
    body = {
        "pools": {"staff": 1, "pedagogue": 0, "resource_pedagogue": 0},
        "districts": names,
        "district_pools": {DISTRICT_A: {"staff": 0, "pedagogue": 1, "resource_pedagogue": 1}},
    }
    assert anna.post("/api/plans/districts", json=body).status_code == 403
    response = admin.post("/api/plans/districts", json=body)
    assert response.status_code == 201, response.text
    run = response.json()
    assert sorted(p["district"] for p in run["plans"]) == names
    summaries = []
    for summary in run["plans"]:
        plan = admin.get(f"/api/plans/{summary['id']}").json()
        own = body["district_pools"].get(summary["district"], body["pools"])
        assert plan["header"]["pools_fte"] == {r: float(v) for r, v in own.items()}
        assert plan["header"]["district_run"] == run["run_id"]
        spent = pd.DataFrame(plan["lines"]).groupby("resource")["change_fte"].sum()
        for resource, pool in own.items():
            assert spent.get(resource, 0.0) <= pool + 1e-9
        summaries.append(pd.DataFrame(plan["summary"]).set_index("allocation"))
    city = pd.DataFrame(run["city_summary"]).set_index("allocation")
    for column in ("unmet_staff_fte_months", "breach_months_pedagogue"):
        total = sum(s[column] for s in summaries)
        np.testing.assert_allclose(city[column], total.reindex(city.index), atol=1e-3)
    again = admin.get(f"/api/plans/districts/{run['run_id']}").json()
    assert [p["id"] for p in again["plans"]] == [p["id"] for p in run["plans"]]
    assert again["city_summary"] == run["city_summary"]
    # the page: the city in sum and every district's plan, linked from the list of plans
    page = admin.get(f"/plans/districts/{run['run_id']}")
    assert page.status_code == 200 and "Byen samlet" in page.text
    assert all(name in page.text for name in names)
    assert f"/plans/districts/{run['run_id']}" in admin.get("/plans").text
    # a planner sees the run's plans of their own district only
    own_run = anna.get(f"/api/plans/districts/{run['run_id']}").json()
    assert {p["district"] for p in own_run["plans"]} == {DISTRICT_A}
    bad = admin.post("/api/plans/districts", json={**body, "districts": ["Atlantis"]})
    assert bad.status_code in (400, 422) and "Atlantis" in bad.text


@pytest.mark.slow
def test_overview_filters_by_municipality_and_pages(
    trained_harness: AppHarness,
) -> None:  # type: ignore[no-untyped-def]
    admin = trained_harness.client_for("admin")
    everything = admin.get("/api/overview").json()
    n = len(everything["kindergartens"])
    assert everything["n_kindergartens"] == n and everything["pages"] == 1
    assert {r["municipality"] for r in everything["kindergartens"]} == {"Oslo"}
    assert admin.get("/api/overview?municipality=Oslo").json()["n_kindergartens"] == n
    assert admin.get("/api/overview?municipality=Bergen").json()["kindergartens"] == []
    ids = []
    first = admin.get("/api/overview?page_size=5").json()
    assert first["pages"] == -(-n // 5) and first["n_kindergartens"] == n
    for page in range(1, first["pages"] + 1):
        rows = admin.get(f"/api/overview?page_size=5&page={page}").json()["kindergartens"]
        ids += [r["kindergarten_id"] for r in rows]
    assert sorted(ids) == sorted(r["kindergarten_id"] for r in everything["kindergartens"])
    one = everything["kindergartens"][0]["district"]
    in_one = admin.get("/api/overview", params={"municipality": "Oslo", "district": one}).json()
    assert {r["district"] for r in in_one["kindergartens"]} == {one}
    page = admin.get("/", params={"municipality": "Oslo", "district": one})
    assert page.status_code == 200
    assert page.text.count('<svg class="band"') == in_one["n_kindergartens"]


def test_form_pools_take_the_resource_as_the_page_names_it() -> None:
    from serving.app.routes.plan_pages import _resource_code

    assert _resource_code("Bydel Alna:Grunnbemanning=3") == "Bydel Alna:staff=3"
    assert _resource_code("Bydel Alna: ressurspedagoger =1") == "Bydel Alna:resource_pedagogue=1"
    assert _resource_code("Bydel Alna:Pedagogues=2") == "Bydel Alna:pedagogue=2"
    assert _resource_code("Bydel Alna:pedagogue=2") == "Bydel Alna:pedagogue=2"
    assert _resource_code("Bydel Alna:lærere=2") == "Bydel Alna:lærere=2"  # the parser names it
    assert _resource_code("no colon") == "no colon"
