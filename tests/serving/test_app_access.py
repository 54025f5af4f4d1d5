"""Who may do what, through the JSON API and the pages: anonymous refusal on every path in the
OpenAPI schema, roles, district scoping (404), CSRF, conflicts (409), immutable approved plans,
privacy suppression for viewers, and the first-run messages."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from app_fixtures import DISTRICT_A, DISTRICT_B, PASSWORD, AppHarness, store_real_plan

from data.contract import District

PUBLIC_PATHS = {"/login", "/api/login", "/health"}


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "1" if "line" in m.group(0) else "x", path)


def test_every_path_in_the_openapi_schema_refuses_anonymous_requests(harness: AppHarness) -> None:
    client = harness.client_for(None)
    schema = client.get("/openapi.json").json()
    checked = 0
    for path, methods in schema["paths"].items():
        if path in PUBLIC_PATHS:
            continue
        for method in methods:
            response = client.request(method.upper(), _fill(path))
            if path.startswith(("/api/", "/exports/")):
                assert response.status_code == 401, (method, path, response.status_code)
            else:
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"].startswith("/login?next=")
            checked += 1
    assert checked >= 25  # pages, API and exports are all in the schema
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200


def test_login_sets_an_httponly_samesite_cookie_and_bad_passwords_are_refused(
    harness: AppHarness,
) -> None:
    client = harness.client_for(None)
    bad = client.post("/api/login", json={"name": "anna", "password": "wrong"})
    unknown = client.post("/api/login", json={"name": "nobody", "password": "wrong"})
    assert bad.status_code == unknown.status_code == 401
    assert bad.json() == unknown.json()  # does not tell which user names exist
    good = client.post("/api/login", json={"name": "anna", "password": PASSWORD})
    cookie = good.headers["set-cookie"].lower()
    assert good.status_code == 200 and "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/api/me").json()["user"] == {
        "name": "anna",
        "role": "planner",
        "district": DISTRICT_A,
    }


def test_login_form_needs_its_csrf_token_and_redirects_to_next(harness: AppHarness) -> None:
    client = harness.client_for(None)
    page = client.get("/login?next=/plans")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    forged = client.post(
        "/login",
        data={"name": "anna", "password": PASSWORD, "csrf_token": "forged", "next": "/plans"},
    )
    assert forged.status_code == 403
    page = client.get("/login?next=/plans")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    wrong = client.post(
        "/login", data={"name": "anna", "password": "wrong", "csrf_token": token, "next": "/plans"}
    )
    # the name stays in its field: the planner types the password again, not both
    assert wrong.status_code == 401 and 'value="anna"' in wrong.text
    ok = client.post(
        "/login", data={"name": "anna", "password": PASSWORD, "csrf_token": token, "next": "/plans"}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/plans"
    assert client.get("/plans").status_code == 200


def test_state_changing_calls_without_the_csrf_token_are_refused(
    harness: AppHarness, sim_district: District, baseline_forecasts: pd.DataFrame
) -> None:
    plan_id = store_real_plan(harness, sim_district, baseline_forecasts)
    client = harness.client_for("anna")
    token = client.headers.pop("X-CSRF-Token")
    assert client.post(f"/api/plans/{plan_id}/approve", json={}).status_code == 403
    assert (
        client.post(
            f"/api/plans/{plan_id}/approve", json={}, headers={"X-CSRF-Token": "x" + token}
        ).status_code
        == 403
    )
    assert client.post(f"/plans/{plan_id}/approve", data={"comment": "ok"}).status_code == 403
    assert client.get(f"/api/plans/{plan_id}").json()["status"] == "draft"
    assert (
        client.post(
            f"/plans/{plan_id}/approve",
            data={"comment": "ok", "revision": 1, "csrf_token": token},
        ).status_code
        == 303
    )
    assert client.get(f"/api/plans/{plan_id}").json()["status"] == "approved"


def test_planners_and_viewers_see_only_their_own_district(
    harness: AppHarness, sim_district: District, baseline_forecasts: pd.DataFrame
) -> None:
    plan_a = store_real_plan(harness, sim_district, baseline_forecasts, DISTRICT_A, "anna")
    plan_b = store_real_plan(harness, sim_district, baseline_forecasts, DISTRICT_B, "bo")
    kg = sim_district.kindergartens
    kg_a = kg.loc[kg["district"] == DISTRICT_A, "kindergarten_id"].iloc[0]
    bo, vera, admin = (harness.client_for(n) for n in ("bo", "vera", "admin"))
    for client, own, other in ((bo, plan_b, plan_a), (vera, plan_a, plan_b)):
        assert client.get(f"/api/plans/{own}").status_code == 200
        for path in (
            f"/api/plans/{other}",
            f"/plans/{other}",
            f"/exports/plans/{other}.xlsx",
            f"/exports/plans/{other}.csv",
            f"/api/plans/{other}/audit",
            f"/api/plans/diff?a={own}&b={other}",
        ):
            assert client.get(path).status_code == 404, path
        assert [p["id"] for p in client.get("/api/plans").json()] == [own]
    assert bo.get(f"/api/kindergartens/{kg_a}").status_code == 404
    assert bo.get(f"/kindergartens/{kg_a}").status_code == 404
    assert bo.get("/api/kindergartens/no-such-id").status_code == 404
    line = bo.get(f"/api/plans/{plan_b}").json()["lines"][0]
    assert (
        bo.post(
            f"/api/plans/{plan_a}/lines/{line['id']}/pins",
            json={"kind": "ban", "comment": "x", "row_version": 1},
        ).status_code
        == 404
    )
    assert {p["id"] for p in admin.get("/api/plans").json()} == {plan_a, plan_b}


def test_viewers_cannot_change_anything(
    harness: AppHarness, sim_district: District, baseline_forecasts: pd.DataFrame
) -> None:
    plan_id = store_real_plan(harness, sim_district, baseline_forecasts)
    vera = harness.client_for("vera")
    line = vera.get(f"/api/plans/{plan_id}").json()["lines"][0]
    calls = [
        ("/api/plans", {"pools": {"staff": 1}}),
        (
            f"/api/plans/{plan_id}/lines/{line['id']}/pins",
            {"kind": "fix", "value_fte": 1, "comment": "x", "row_version": 1},
        ),
        (f"/api/plans/{plan_id}/lines/{line['id']}/approve", {"row_version": 1}),
        (f"/api/plans/{plan_id}/approve", {}),
        (f"/api/plans/{plan_id}/resolve", None),
    ]
    for path, body in calls:
        response = vera.post(path, json=body)
        assert response.status_code == 403, path
        assert "viewer" in response.json()["detail"]
    assert vera.get(f"/api/plans/{plan_id}").json()["status"] == "draft"
    page = vera.get(f"/plans/{plan_id}")
    assert page.status_code == 200 and "Approve whole plan" not in page.text


def test_second_planner_saving_the_same_line_gets_a_409_and_nothing_is_overwritten(
    harness: AppHarness, sim_district: District, baseline_forecasts: pd.DataFrame
) -> None:
    plan_id = store_real_plan(harness, sim_district, baseline_forecasts)
    anna, alf = harness.client_for("anna"), harness.client_for("alf")
    line = anna.get(f"/api/plans/{plan_id}").json()["lines"][0]
    seen = alf.get(f"/api/plans/{plan_id}").json()["lines"][0]
    first = anna.post(
        f"/api/plans/{plan_id}/lines/{line['id']}/pins",
        json={
            "kind": "fix",
            "value_fte": 1.5,
            "comment": "new group",
            "row_version": line["row_version"],
        },
    )
    assert first.status_code == 200 and first.json()["new_version"] is False
    second = alf.post(
        f"/api/plans/{plan_id}/lines/{seen['id']}/pins",
        json={"kind": "ban", "comment": "no money", "row_version": seen["row_version"]},
    )
    assert second.status_code == 409
    assert "changed by anna" in second.json()["detail"] and "Reload" in second.json()["detail"]
    after = alf.get(f"/api/plans/{plan_id}").json()["lines"][0]
    assert after["planned_fte"] == pytest.approx(line["current_fte"] + 1.5)
    assert after["suggested_fte"] == line["suggested_fte"]  # the solved figure stays
    assert after["pin"]["created_by"] == "anna" and after["row_version"] == line["row_version"] + 1
    page = alf.post(
        f"/plans/{plan_id}/lines/{seen['id']}/pin",
        data={
            "kind": "ban",
            "comment": "again",
            "row_version": seen["row_version"],
            "csrf_token": alf.headers["X-CSRF-Token"],
        },
    )
    assert page.status_code == 409 and "endret av anna" in page.text


def test_approved_plans_are_immutable_and_changes_make_a_new_version(
    harness: AppHarness, sim_district: District, baseline_forecasts: pd.DataFrame
) -> None:
    plan_id = store_real_plan(harness, sim_district, baseline_forecasts)
    anna = harness.client_for("anna")
    approved = anna.post(
        f"/api/plans/{plan_id}/approve", json={"comment": "board ok", "revision": 1}
    ).json()
    assert approved["status"] == "approved" and approved["approved_by"] == "anna"
    assert all(line["approved"] for line in approved["lines"])
    assert anna.post(f"/api/plans/{plan_id}/approve", json={"revision": 2}).status_code == 409
    line = approved["lines"][0]
    assert (
        anna.post(
            f"/api/plans/{plan_id}/lines/{line['id']}/approve",
            json={"row_version": line["row_version"]},
        ).status_code
        == 409
    )
    pinned = anna.post(
        f"/api/plans/{plan_id}/lines/{line['id']}/pins",
        json={"kind": "ban", "comment": "freeze", "row_version": line["row_version"]},
    ).json()
    assert pinned["new_version"] is True and pinned["plan_id"] != plan_id
    again = anna.get(f"/api/plans/{plan_id}").json()
    assert again["lines"] == approved["lines"] and again["status"] == "approved"
    new = anna.get(f"/api/plans/{pinned['plan_id']}").json()
    assert (new["parent_id"], new["version"], new["status"]) == (plan_id, 2, "draft")
    diff = anna.get(f"/api/plans/diff?a={plan_id}&b={new['id']}").json()
    assert diff["n_changed"] == len(diff["rows"]) <= 1
    audit = anna.get(f"/api/plans/{new['id']}/audit").json()
    assert {"plan.new_version", "pin.ban"} <= {e["action"] for e in audit}


def test_pin_requires_a_comment_and_a_known_kind(
    harness: AppHarness, sim_district: District, baseline_forecasts: pd.DataFrame
) -> None:
    plan_id = store_real_plan(harness, sim_district, baseline_forecasts)
    anna = harness.client_for("anna")
    line = anna.get(f"/api/plans/{plan_id}").json()["lines"][0]
    response = anna.post(
        f"/api/plans/{plan_id}/lines/{line['id']}/pins",
        json={"kind": "grab", "comment": "", "row_version": 1},
    )
    assert response.status_code == 422
    problems = " ".join(response.json()["problems"])
    assert "kind" in problems and "comment" in problems


def test_without_a_trained_model_the_pages_say_to_train_first(harness: AppHarness) -> None:
    anna = harness.client_for("anna")
    page = anna.get("/")
    assert page.status_code == 200
    assert "bemanning train" in page.text and "simulated" in page.text.lower()
    status = anna.get("/api/status").json()
    assert status["data_ok"] and not status["model_ok"] and status["simulated"]
    assert "bemanning train" in status["next_step"]
    assert anna.post("/api/plans", json={"pools": {"staff": 2}}).status_code == 400


def test_without_data_the_app_starts_and_says_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app_fixtures import add_users, app_settings, login
    from fastapi.testclient import TestClient

    from serving.app.main import create_app

    app = create_app(
        app_settings(f"sqlite:///{tmp_path / 'a.db'}", None, f"sqlite:///{tmp_path / 'm.db'}")
    )
    add_users(app.state.sessions)
    with TestClient(app) as client:
        login(client, "admin")
        page = client.get("/")
        assert page.status_code == 200 and "--data" in page.text
        assert client.get("/plans").status_code == 200
        assert client.get("/api/status").json()["data_ok"] is False


@pytest.mark.postgres
def test_the_app_on_postgresql_refuses_the_second_save_and_keeps_approvals(
    postgres_url: str,
    sim_data_path,
    empty_tracking_uri: str,  # type: ignore[no-untyped-def]
    sim_district: District,
    baseline_forecasts: pd.DataFrame,
) -> None:
    from app_fixtures import add_users, app_settings, login
    from fastapi.testclient import TestClient

    from serving.app.main import create_app
    from serving.store.db import downgrade, make_engine

    fresh = make_engine(postgres_url)
    downgrade(fresh)  # the session's database starts empty here
    fresh.dispose()
    app = create_app(app_settings(postgres_url, sim_data_path, empty_tracking_uri))
    try:
        add_users(app.state.sessions)
        plan_id = store_real_plan(app.state.sessions, sim_district, baseline_forecasts)
        with TestClient(app) as anna, TestClient(app) as alf:
            login(anna, "anna")
            login(alf, "alf")
            line = anna.get(f"/api/plans/{plan_id}").json()["lines"][0]
            body = {"kind": "ban", "comment": "c", "row_version": line["row_version"]}
            url = f"/api/plans/{plan_id}/lines/{line['id']}/pins"
            assert anna.post(url, json=body).status_code == 200
            assert alf.post(url, json=body).status_code == 409
            seen = anna.get(f"/api/plans/{plan_id}").json()["revision"]
            approve = {"revision": seen}
            assert anna.post(f"/api/plans/{plan_id}/approve", json=approve).status_code == 200
            assert alf.post(f"/api/plans/{plan_id}/approve", json=approve).status_code == 409
            actions = [e["action"] for e in alf.get(f"/api/plans/{plan_id}/audit").json()]
            assert actions.count("plan.approve") == 1 and actions.count("pin.ban") == 1
    finally:
        app.state.db_engine.dispose()
        cleanup = make_engine(postgres_url)
        downgrade(cleanup)
        cleanup.dispose()
