"""The plan workflow through the JSON API: one approved plan per district and period (409 naming
the plan that stands), newest version only, supersede with a reason in the audit trail, pools at
approval, the revision an approval names, and pins that never change a solved version."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import pytest
from app_fixtures import AppHarness, store_real_plan
from page_text import code_words, visible_text

from data.contract import District
from serving.app import services
from serving.formatting import format_fte
from serving.i18n import LANGUAGE_COOKIE
from serving.store import repository


def _revision(client, plan_id: str) -> int:  # type: ignore[no-untyped-def]
    return int(client.get(f"/api/plans/{plan_id}").json()["revision"])


def _approve(client, plan_id: str, **extra):  # type: ignore[no-untyped-def]
    body = {"revision": _revision(client, plan_id), **extra}
    return client.post(f"/api/plans/{plan_id}/approve", json=body)


@pytest.fixture
def two_plans(
    harness: AppHarness, sim_district: District, baseline_forecasts: pd.DataFrame
) -> tuple[str, str]:
    """Two plans of the same district and period (different families)."""
    return (
        store_real_plan(harness, sim_district, baseline_forecasts),
        store_real_plan(harness, sim_district, baseline_forecasts),
    )


def test_approval_needs_the_revision_seen(harness: AppHarness, two_plans: tuple[str, str]) -> None:
    plan_id, _ = two_plans
    anna, alf = harness.client_for("anna"), harness.client_for("alf")
    missing = anna.post(f"/api/plans/{plan_id}/approve", json={"comment": "ok"})
    assert missing.status_code == 422 and "revision" in " ".join(missing.json()["problems"])
    seen = _revision(anna, plan_id)
    line = alf.get(f"/api/plans/{plan_id}").json()["lines"][0]
    assert (
        alf.post(
            f"/api/plans/{plan_id}/lines/{line['id']}/pins",
            json={"kind": "ban", "comment": "hold", "row_version": line["row_version"]},
        ).status_code
        == 200
    )
    stale = anna.post(f"/api/plans/{plan_id}/approve", json={"revision": seen})
    assert stale.status_code == 409
    assert f"you saw revision {seen}, it is now revision {seen + 1}" in stale.json()["detail"]
    assert _approve(anna, plan_id).status_code == 200


def test_an_overlapping_plan_is_refused_with_409_naming_the_standing_plan(
    harness: AppHarness, two_plans: tuple[str, str]
) -> None:
    first, second = two_plans
    anna, alf = harness.client_for("anna"), harness.client_for("alf")
    assert _approve(alf, second).status_code == 200
    refused = _approve(anna, first)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert second in detail and "approved by alf" in detail and "Supersede" in detail
    assert anna.get(f"/api/plans/{first}").json()["status"] == "draft"
    page = anna.post(
        f"/plans/{first}/approve",
        data={"revision": _revision(anna, first), "csrf_token": anna.headers["X-CSRF-Token"]},
    )
    assert page.status_code == 409 and second in page.text  # the form shows the same message
    # … in the page's language: bokmål by default, English by the user's choice
    said = visible_text(page.text)
    assert "Det gjelder allerede en godkjent plan" in said and "godkjent av alf" in said
    assert " kl. " in said and "UTC" not in said  # when, in Oslo time as a planner reads it
    assert "already stands" not in said and code_words(page.text) == {}
    anna.cookies.set(LANGUAGE_COOKIE, "en")
    english = anna.post(
        f"/plans/{first}/approve",
        data={"revision": _revision(anna, first), "csrf_token": anna.headers["X-CSRF-Token"]},
    )
    assert "An approved plan already stands" in visible_text(english.text)


def test_an_older_version_is_refused_naming_the_newest(
    harness: AppHarness, two_plans: tuple[str, str]
) -> None:
    v1, _ = two_plans
    with harness.sessions.begin() as session:
        v2 = repository.new_version(
            session, repository.get_plan(session, v1), user_name="alf", comment="next"
        ).id
    anna = harness.client_for("anna")
    refused = _approve(anna, v1)
    assert refused.status_code == 409
    assert f"version 1, not the newest: {v2} (version 2" in refused.json()["detail"]
    assert _approve(anna, v2).status_code == 200


def test_supersede_with_a_reason_is_recorded_with_who_and_why(
    harness: AppHarness, two_plans: tuple[str, str]
) -> None:
    first, second = two_plans
    anna, alf = harness.client_for("anna"), harness.client_for("alf")
    assert _approve(alf, second).status_code == 200
    no_reason = _approve(anna, first, supersede=True)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    done = _approve(anna, first, supersede=True, reason="the board cut the staff pool")
    assert done.status_code == 200 and done.json()["status"] == "approved"
    old = anna.get(f"/api/plans/{second}").json()
    assert old["status"] == "superseded" and old["superseded_by"] == first
    events = [e for e in anna.get(f"/api/plans/{second}/audit").json()]
    supersede = [e for e in events if e["action"] == "plan.supersede"]
    assert len(supersede) == 1
    assert supersede[0]["user_name"] == "anna"
    assert supersede[0]["comment"] == "the board cut the staff pool"
    approve = next(
        e for e in anna.get(f"/api/plans/{first}/audit").json() if e["action"] == "plan.approve"
    )
    assert approve["after"]["superseded"] == [second]


def test_an_approval_never_spends_more_than_the_pools(
    harness: AppHarness, two_plans: tuple[str, str]
) -> None:
    plan_id, _ = two_plans
    anna = harness.client_for("anna")
    plan = anna.get(f"/api/plans/{plan_id}").json()
    line = next(ln for ln in plan["lines"] if ln["resource"] == "staff")
    pinned = anna.post(
        f"/api/plans/{plan_id}/lines/{line['id']}/pins",
        json={"kind": "fix", "value_fte": 5.0, "comment": "a new wing", "row_version": 1},
    )
    assert pinned.status_code == 200
    refused = _approve(anna, plan_id)
    assert refused.status_code == 409
    assert "of Basic staff from a pool of 2" in refused.json()["detail"]
    assert anna.get(f"/api/plans/{plan_id}").json()["status"] == "draft"


def test_a_pin_never_changes_the_solved_version_and_shows_everywhere(
    harness: AppHarness, two_plans: tuple[str, str]
) -> None:
    plan_id, _ = two_plans
    anna = harness.client_for("anna")
    before = anna.get(f"/api/plans/{plan_id}").json()
    line = before["lines"][0]
    pinned = anna.post(
        f"/api/plans/{plan_id}/lines/{line['id']}/pins",
        json={
            "kind": "fix",
            "value_fte": 1.0,
            "comment": "ny gruppe",
            "row_version": line["row_version"],
        },
    ).json()["line"]
    # the solved figures stay; the pin is its own record and rules the planned figure
    for name in ("suggested_fte", "change_fte", "engine_fte", "required_fte_p90"):
        assert pinned[name] == line[name], name
    assert pinned["planned_fte"] == pytest.approx(line["current_fte"] + 1.0)
    assert pinned["reason"].startswith("Låst av anna ")
    level = format_fte(line["current_fte"] + 1.0, "nb")
    assert f" til {level} årsverk (+1,0) — «ny gruppe»" in pinned["reason"]
    assert pinned["pin"]["comment"] == "ny gruppe" and pinned["pin"]["created_by"] == "anna"
    # approve it, then change the approved plan: a new version; the diff shows the pinned line
    assert _approve(anna, plan_id).status_code == 200
    approved = anna.get(f"/api/plans/{plan_id}").json()
    other = next(ln for ln in approved["lines"] if ln["id"] != line["id"])
    new = anna.post(
        f"/api/plans/{plan_id}/lines/{other['id']}/pins",
        json={"kind": "ban", "comment": "frozen", "row_version": other["row_version"]},
    ).json()
    assert new["new_version"] is True
    after = anna.get(f"/api/plans/{plan_id}").json()
    assert after["lines"] == approved["lines"] and after["pins"] == approved["pins"]
    diff = anna.get(f"/api/plans/diff?a={plan_id}&b={new['plan_id']}").json()
    copied = anna.get(f"/api/plans/{new['plan_id']}").json()
    # listed: every line whose planned figure differs, and every line a pin sets in either
    # version (the planner's override is a change from the solve even where both agree)
    a_lines = {(ln["kindergarten_id"], ln["resource"]): ln for ln in approved["lines"]}
    expected = sum(
        1
        for ln in copied["lines"]
        if abs(a_lines[(ln["kindergarten_id"], ln["resource"])]["planned_fte"] - ln["planned_fte"])
        > 1e-9
        or a_lines[(ln["kindergarten_id"], ln["resource"])]["pin"]
        or ln["pin"]
    )
    assert diff["n_changed"] == len(diff["rows"]) == expected >= 1
    assert all(
        row["difference_fte"] != 0 or row["pinned_a"] or row["pinned_b"] for row in diff["rows"]
    )
    key = (line["kindergarten_id"], line["resource"])
    kept = next(ln for ln in copied["lines"] if (ln["kindergarten_id"], ln["resource"]) == key)
    assert kept["planned_fte"] == pinned["planned_fte"]  # the first pin travels with the copy
    # the kindergarten's history lists the pin
    with harness.sessions() as session:
        user = repository.user_by_name(session, "anna")
        history = services.allocation_history(session, user, line["kindergarten_id"])
    pinned_rows = [row for row in history if row["pin"]]
    assert {row["plan_id"] for row in pinned_rows} == {plan_id, new["plan_id"]}
    assert all(row["pin"].startswith("Låst av anna") for row in pinned_rows)


def _approve_and_pin_at_once(
    anna: Any, alf: Any, plan_id: str, revision: int, line: dict
) -> dict[str, int]:
    """Anna approves the revision she saw while Alf pins a line; their status codes."""
    barrier = threading.Barrier(2)
    answers: dict[str, int] = {}

    def approve() -> None:
        barrier.wait()
        answers["approve"] = anna.post(
            f"/api/plans/{plan_id}/approve", json={"revision": revision}
        ).status_code

    def pin() -> None:
        barrier.wait()
        answers["pin"] = alf.post(
            f"/api/plans/{plan_id}/lines/{line['id']}/pins",
            json={"kind": "ban", "comment": "race", "row_version": line["row_version"]},
        ).status_code

    threads = [threading.Thread(target=approve), threading.Thread(target=pin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def _race_rounds(app: Any, rounds: int) -> dict[str, int]:
    """Approve (the revision seen) and pin (a line) at once through the API, ``rounds`` times on
    fresh plans; checks after each round that an approved plan carries no pin it was not approved
    with. Returns how often each side won."""
    from app_fixtures import login
    from fastapi.testclient import TestClient
    from test_store_repository import LINES

    tally = {"approved": 0, "pinned": 0}
    with TestClient(app) as anna, TestClient(app) as alf:
        login(anna, "anna")
        login(alf, "alf")
        for round_ in range(rounds):
            period = f"{2040 + round_}-01–{2040 + round_}-12"
            with app.state.sessions.begin() as session:
                plan_id = repository.save_plan(
                    session,
                    district="Bydel Gamle Oslo",
                    lines=[{**row, "period": period} for row in LINES],
                    header={"period": period, "pools_fte": {"staff": 3.0, "pedagogue": 3.0}},
                    summary=[],
                    created_by="anna",
                ).id
            seen = anna.get(f"/api/plans/{plan_id}").json()
            line = seen["lines"][round_ % len(seen["lines"])]
            answers = _approve_and_pin_at_once(anna, alf, plan_id, seen["revision"], line)
            after = anna.get(f"/api/plans/{plan_id}").json()
            assert all(
                ln["suggested_fte"] == old["suggested_fte"]
                for ln, old in zip(after["lines"], seen["lines"], strict=True)
            )
            if after["status"] == "approved":
                assert after["pins"] == [] and answers["approve"] == 200, answers
                assert answers["pin"] in (200, 409), answers  # refused, or a new draft version
                tally["approved"] += 1
            else:
                assert answers == {"approve": 409, "pin": 200}, answers
                tally["pinned"] += 1
    return tally


def test_approve_and_pin_racing_through_the_api_on_sqlite(harness: AppHarness) -> None:
    tally = _race_rounds(harness.app, 10)
    assert sum(tally.values()) == 10


@pytest.mark.postgres
def test_approve_and_pin_racing_through_the_api_on_postgresql(
    postgres_url: str, sim_data_path: Any, empty_tracking_uri: str
) -> None:
    from app_fixtures import add_users, app_settings

    from serving.app.main import create_app
    from serving.store.db import downgrade, make_engine

    fresh = make_engine(postgres_url)
    downgrade(fresh)  # the session's database starts empty here
    fresh.dispose()
    app = create_app(app_settings(postgres_url, sim_data_path, empty_tracking_uri))
    try:
        add_users(app.state.sessions)
        tally = _race_rounds(app, 10)
        assert sum(tally.values()) == 10
    finally:
        app.state.db_engine.dispose()
        cleanup = make_engine(postgres_url)
        downgrade(cleanup)
        cleanup.dispose()
