"""Kindergarten pages prepared ahead (serving.app.prepared): after the preparing process has
run, a page request does no model work; the same page as one prepared in the request; a new
model or data set prepares again; what is prepared is kept in the store for the next start; a
page not ready in time is "being prepared" (503); and preparing never touches a plan, an
approval or the audit trail."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from app_fixtures import (
    DISTRICT_A,
    AppHarness,
    approve_first_line_and_plan,
    engine_forecasts,
    store_real_plan,
    store_rows,
)

from serving.app import kindergarten_sections, prepared, services
from serving.app.engine import EngineState
from serving.app.prepared import PreparedPages


def _kindergartens_of(harness: AppHarness, district: str) -> list[str]:
    kindergartens = harness.app.state.engine_state.district().kindergartens
    return kindergartens.loc[kindergartens["district"] == district, "kindergarten_id"].tolist()


def _with_workers(harness: AppHarness, workers: int) -> PreparedPages:
    """The app's prepared pages replaced by ones with ``workers`` preparing processes."""
    app = harness.app
    app.state.prepared_pages.close()
    pages = PreparedPages(app.state.engine_state, workers, environment=app.state.templates.env)
    app.state.prepared_pages = pages
    return pages


def _no_model_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every way a page could compute forecasts, charts or drivers raises."""

    def model_work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("model work in a page request")

    for name in ("forecasts", "contributions"):
        monkeypatch.setattr(EngineState, name, model_work)
    for name in ("split_by_kindergarten", "render_sections"):
        monkeypatch.setattr(prepared, name, model_work)
    for name in ("fan_chart", "chart_table", "split_by_kindergarten", "render_sections"):
        monkeypatch.setattr(kindergarten_sections, name, model_work)
    monkeypatch.setattr(services, "kindergarten", model_work)


@pytest.fixture
def process_pages(trained_harness: AppHarness) -> Any:
    pages = _with_workers(trained_harness, 1)
    yield pages
    pages.close()


def test_after_preparation_a_kindergarten_page_does_no_model_work(
    trained_harness: AppHarness, process_pages: PreparedPages, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, vera = trained_harness.client_for("anna"), trained_harness.client_for("vera")
    process_pages.start()
    assert process_pages.wait(timeout=600), "preparation did not finish"
    ids = trained_harness.app.state.engine_state.district().kindergartens["kindergarten_id"]
    variants = process_pages.variants()
    assert process_pages.prepared == len(ids) * len(variants) == len(ids) * 4
    # the same page as one prepared in the request thread
    kindergarten = _kindergartens_of(trained_harness, DISTRICT_A)[0]
    from_process = anna.get(f"/kindergartens/{kindergarten}").text
    _with_workers(trained_harness, 0)
    assert anna.get(f"/kindergartens/{kindergarten}").text == from_process

    trained_harness.app.state.prepared_pages = process_pages
    trained_harness.app.state.page_cache.clear()
    _no_model_work(monkeypatch)
    counted = process_pages.counts.kept
    for client in (anna, vera):  # a planner, and a viewer ("<5" audience)
        for kindergarten in _kindergartens_of(trained_harness, DISTRICT_A):
            page = client.get(f"/kindergartens/{kindergarten}")
            assert page.status_code == 200, page.text
            assert 'data-testid="history"' in page.text and 'class="charts"' in page.text
    visits = 2 * len(_kindergartens_of(trained_harness, DISTRICT_A))
    assert process_pages.counts.kept - counted == visits
    assert process_pages.counts.waited == process_pages.counts.not_ready == 0
    assert process_pages.counts.inline == 0


def test_what_is_prepared_is_kept_in_the_store_for_the_next_start(
    trained_harness: AppHarness, process_pages: PreparedPages
) -> None:
    process_pages.start()
    assert process_pages.wait(timeout=600)
    again = _with_workers(trained_harness, 1)
    again.start()
    assert again.wait(timeout=60)
    assert again.prepared == process_pages.prepared
    assert again._pool is None  # loaded from the store: no preparing process started
    anna = trained_harness.client_for("anna")
    kindergarten = _kindergartens_of(trained_harness, DISTRICT_A)[0]
    assert anna.get(f"/kindergartens/{kindergarten}").status_code == 200
    assert again.counts.kept == 1 and again.counts.waited == 0
    again.close()


def test_a_new_model_or_data_set_prepares_the_pages_again(
    trained_harness: AppHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = _with_workers(trained_harness, 0)
    anna = trained_harness.client_for("anna")
    kindergarten = _kindergartens_of(trained_harness, DISTRICT_A)[0]
    url = f"/kindergartens/{kindergarten}"
    assert anna.get(url).status_code == 200
    trained_harness.app.state.page_cache.clear()
    assert anna.get(url).status_code == 200
    assert (pages.counts.inline, pages.counts.kept) == (1, 1)

    state = trained_harness.app.state.engine_state
    status = state.status()
    for changed in (
        replace(status, model_version=f"{status.model_version}-new"),
        replace(status, fingerprint=f"{status.fingerprint}-new"),
    ):
        monkeypatch.setattr(state, "status", lambda changed=changed: changed)
        before = pages.counts.inline
        assert anna.get(url).status_code == 200
        assert pages.counts.inline == before + 1  # prepared again, not the old model's
        assert pages.prepared == 1  # the old model's sections are gone


def test_a_page_not_ready_in_time_says_so_and_nothing_else_fails(
    trained_harness: AppHarness, process_pages: PreparedPages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepared, "WAIT_S", 0.0)
    anna = trained_harness.client_for("anna")
    kindergarten = _kindergartens_of(trained_harness, DISTRICT_A)[0]
    page = anna.get(f"/kindergartens/{kindergarten}")  # the app speaks bokmål by default
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert "gjøres klar" in page.text
    assert process_pages.counts.not_ready == 1
    assert anna.get("/").status_code == 200  # the other pages do not wait for it


def test_preparing_touches_nothing_a_planner_approved(
    trained_harness: AppHarness, process_pages: PreparedPages, sim_district: Any
) -> None:
    forecasts = engine_forecasts(trained_harness)
    plan_id = store_real_plan(trained_harness, sim_district, forecasts)
    anna = trained_harness.client_for("anna")
    approve_first_line_and_plan(anna, plan_id)
    before = store_rows(trained_harness)
    assert before["approvals"] and before["audit"]

    process_pages.start()
    assert process_pages.wait(timeout=600)
    for kindergarten in _kindergartens_of(trained_harness, DISTRICT_A):
        assert anna.get(f"/kindergartens/{kindergarten}").status_code == 200
    assert store_rows(trained_harness) == before


def test_a_killed_preparing_process_is_replaced(
    trained_harness: AppHarness, process_pages: PreparedPages
) -> None:
    import os
    import signal

    admin = trained_harness.client_for("admin")  # sees every district
    kindergartens = trained_harness.app.state.engine_state.district().kindergartens
    first, second, third = kindergartens["kindergarten_id"].tolist()[:3]
    assert admin.get(f"/kindergartens/{first}").status_code == 200  # prepared at once
    assert process_pages.counts.waited == 1
    for process in list(process_pages._pool._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=30)
    died = admin.get(f"/kindergartens/{second}")
    assert died.status_code in (200, 503)  # 503 when the request saw the process die
    for kindergarten in (second, third):  # a fresh process prepares the next ones
        assert admin.get(f"/kindergartens/{kindergarten}").status_code == 200
    assert admin.get("/").status_code == 200


def test_after_the_warm_up_an_overview_does_no_model_work(
    trained_harness: AppHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = trained_harness.app.state.engine_state
    state.warm()
    services.warm_key_figures(state)

    def model_work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("model work in an overview request")

    monkeypatch.setattr(services, "key_figures", model_work)
    monkeypatch.setattr(services, "overview_table", model_work)
    for name in ("anna", "vera", "bo", "admin"):  # every audience: planners, a viewer, an admin
        assert trained_harness.client_for(name).get("/").status_code == 200
