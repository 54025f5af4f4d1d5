"""Every audience's overview rendered ahead (serving.app.routes.overview_ahead): after the
warm-up an overview request builds nothing — no engine output, no table, no template — in
either language and whether or not the district has a plan; a new data set or model makes the
pages be rendered again (never served stale); rendering them ahead changes nothing in the
store."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from app_fixtures import (
    DISTRICT_A,
    USERS,
    AppHarness,
    approve_first_line_and_plan,
    engine_forecasts,
    store_rows,
)

from serving.app import services
from serving.app.routes import pages
from serving.i18n import LANGUAGE_COOKIE, LANGUAGES

NO_PLAN_HINT = "start one on the Plans page"


@pytest.fixture
def warmed(warmed_harness: AppHarness) -> AppHarness:
    return warmed_harness


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every overview a request built (its table and key figures computed, its template
    rendered); those rendered ahead in the background are not counted."""
    built: list[str] = []
    context = pages._overview_context

    def counted(request: Any, user: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name != "overview-ahead":
            built.append(f"{user.role} {user.district}")
        return context(request, user, *args, **kwargs)

    monkeypatch.setattr(pages, "_overview_context", counted)
    return built


def test_after_the_warm_up_no_overview_request_builds_anything(
    warmed: AppHarness, builds: list[str], monkeypatch: pytest.MonkeyPatch, sim_district: Any
) -> None:
    from app_fixtures import store_real_plan

    n_districts = sim_district.kindergartens["district"].nunique()
    assert warmed.app.state.overview_ahead.rendered == (1 + 2 * n_districts) * len(LANGUAGES) * 2
    forecasts = engine_forecasts(warmed)  # for the plan stored below

    def no_model_work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an overview request did model work")

    kept = {name: getattr(services, name) for name in ("overview", "district_key_figures")}
    for name in kept:
        monkeypatch.setattr(services, name, no_model_work)
    monkeypatch.setattr(warmed.app.state.engine_state, "forecasts", no_model_work)
    for name in USERS:
        client = warmed.client_for(name)
        for language in LANGUAGES:
            client.cookies.set(LANGUAGE_COOKIE, language)
            page = client.get("/")
            assert page.status_code == 200, page.text
            assert f">{name} ·" in page.text  # personalised
    anna = warmed.client_for("anna")
    anna.cookies.set(LANGUAGE_COOKIE, "en")
    assert NO_PLAN_HINT in anna.get("/").text
    store_real_plan(warmed, sim_district, forecasts)  # the district's first plan
    assert NO_PLAN_HINT not in anna.get("/").text  # rendered ahead too
    assert builds == []
    # a query other than the default is built on its first request, then kept
    for name, function in kept.items():
        monkeypatch.setattr(services, name, function)
    monkeypatch.delattr(warmed.app.state.engine_state, "forecasts")
    assert anna.get("/?sort=name&dir=asc").status_code == 200
    assert anna.get("/?sort=name&dir=asc").status_code == 200
    assert builds == [f"planner {DISTRICT_A}"]


def test_a_new_model_or_data_set_is_never_served_from_the_old_pages(
    warmed: AppHarness, builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = warmed.app.state.engine_state
    ahead = warmed.app.state.overview_ahead
    alf, vera = warmed.client_for("alf"), warmed.client_for("vera")
    assert alf.get("/").status_code == 200 and builds == []
    rendered = ahead.rendered

    # a new champion: same data, another model version
    champion = engine.champion()

    class NewChampion:
        version = f"{champion.version}-new"

        def __getattr__(self, name: str) -> Any:
            return getattr(champion, name)

    monkeypatch.setattr(engine, "champion", lambda: NewChampion())
    assert alf.get("/").status_code == 200
    assert builds == [f"planner {DISTRICT_A}"]  # built for the new model, not the old page
    assert ahead.wait(timeout=120)  # and every audience's rendered again in the background
    assert ahead.rendered == 2 * rendered
    assert vera.get("/").status_code == 200 and len(builds) == 1

    # a changed data set: its fingerprint changes, so does every page's key
    before = engine.status().fingerprint
    monthly = Path(engine.settings.data_path) / "monthly.csv"
    frame = pd.read_csv(monthly)
    row = frame.index[frame["children_over3"].notna()][-1]
    frame.loc[row, "children_over3"] += 7
    frame.to_csv(monthly, index=False)
    page = alf.get("/")
    assert page.status_code == 200
    assert engine.status().fingerprint != before
    assert builds[-1] == f"planner {DISTRICT_A}" and len(builds) == 2
    assert ahead.wait(timeout=300)
    assert vera.get("/").status_code == 200 and len(builds) == 2


def test_rendering_ahead_changes_nothing_a_planner_did(
    warmed: AppHarness, sim_district: Any
) -> None:
    from app_fixtures import store_real_plan

    plan_id = store_real_plan(warmed, sim_district, engine_forecasts(warmed))
    approve_first_line_and_plan(warmed.client_for("anna"), plan_id)
    before = store_rows(warmed)
    assert before["approvals"] and before["audit"]
    ahead = warmed.app.state.overview_ahead
    rendered = ahead.rendered
    ahead._status = None  # as after a new model: render every page again
    ahead.start()
    assert ahead.wait(timeout=0) and ahead.rendered == 2 * rendered
    assert store_rows(warmed) == before
