"""Pages rendered once per state and kept (serving.app.page_cache): served again without the
engine's or the template's work, personalised per request (each user's own name and CSRF
token), never shown to another audience, and never stale after a change in the store."""

from __future__ import annotations

import re
from typing import Any

import pytest
from app_fixtures import DISTRICT_A, AppHarness, engine_forecasts, store_real_plan

from serving.app import services
from serving.app.page_cache import PageCache
from serving.i18n import LANGUAGE_COOKIE

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _kindergarten_of(harness: AppHarness, district: str) -> str:
    kindergartens = harness.app.state.engine_state.district().kindergartens
    return str(kindergartens.loc[kindergartens["district"] == district, "kindergarten_id"].iloc[0])


@pytest.fixture
def plan_id(trained_harness: AppHarness, sim_district: Any) -> str:
    forecasts = engine_forecasts(trained_harness)
    return store_real_plan(trained_harness, sim_district, forecasts)


def test_a_kept_page_is_served_without_rebuilding_and_personalised_per_user(
    trained_harness: AppHarness, plan_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, alf = trained_harness.client_for("anna"), trained_harness.client_for("alf")
    kindergarten = _kindergarten_of(trained_harness, DISTRICT_A)
    pages = ["/", f"/plans/{plan_id}", f"/kindergartens/{kindergarten}"]
    first = {url: anna.get(url) for url in pages}
    assert all(r.status_code == 200 for r in first.values())

    def no_rebuild(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a kept page was built again")

    for name in ("overview", "plan_for", "kindergarten"):
        monkeypatch.setattr(services, name, no_rebuild)
    cache: PageCache = trained_harness.app.state.page_cache
    for url in pages:
        again, other = anna.get(url), alf.get(url)
        assert again.status_code == other.status_code == 200
        assert again.text == first[url].text  # the same page, from the cache
        assert ">anna ·" in again.text and ">alf ·" in other.text
        assert ">anna ·" not in other.text
        assert cache.csrf_mark not in again.text and cache.name_mark not in again.text
        tokens = {m for m in CSRF.findall(other.text)}
        assert tokens == {alf.headers["X-CSRF-Token"]}
        assert anna.headers["X-CSRF-Token"] not in other.text
    assert cache.hits >= 2 * len(pages)


def test_a_change_shows_on_the_next_request(trained_harness: AppHarness, plan_id: str) -> None:
    anna, alf = trained_harness.client_for("anna"), trained_harness.client_for("alf")
    before = alf.get(f"/plans/{plan_id}?show=all")
    assert before.status_code == 200 and "knows better" not in before.text
    line = anna.get(f"/api/plans/{plan_id}").json()["lines"][0]
    pinned = anna.post(
        f"/api/plans/{plan_id}/lines/{line['id']}/pins",
        json={
            "kind": "floor",
            "value_fte": max(line["change_fte"], 0.0),
            "comment": "anna knows better",
            "row_version": line["row_version"],
        },
    )
    assert pinned.status_code == 200, pinned.text
    after = alf.get(f"/plans/{plan_id}?show=all")
    assert "anna knows better" in after.text
    kindergarten = alf.get(f"/kindergartens/{line['kindergarten_id']}")
    assert "anna knows better" in kindergarten.text  # its plan history is news too
    resolved = anna.post(f"/api/plans/{plan_id}/resolve")
    assert resolved.status_code == 201, resolved.text
    newer = alf.get(f"/plans/{plan_id}?show=all")
    assert resolved.json()["id"] in newer.text and resolved.json()["id"] not in after.text


def test_the_overview_follows_the_plans_made(
    trained_harness: AppHarness, sim_district: Any
) -> None:
    alf = trained_harness.client_for("alf")
    hint = "start one on the Plans page"
    alf.cookies.set(LANGUAGE_COOKIE, "en")
    assert hint in alf.get("/").text
    assert hint in alf.get("/").text  # kept
    store_real_plan(trained_harness, sim_district, engine_forecasts(trained_harness))
    assert hint not in alf.get("/").text


def test_a_kept_page_is_never_served_to_another_audience(
    trained_harness: AppHarness, plan_id: str
) -> None:
    anna, vera, bo = (trained_harness.client_for(n) for n in ("anna", "vera", "bo"))
    planner_view = anna.get(f"/plans/{plan_id}?show=all")
    assert 'data-testid="pin-form"' in planner_view.text
    viewer_view = vera.get(f"/plans/{plan_id}?show=all")  # same district, a viewer
    assert viewer_view.status_code == 200
    assert 'data-testid="pin-form"' not in viewer_view.text
    assert bo.get(f"/plans/{plan_id}").status_code == 404  # another district, kept or not
    kindergarten = _kindergarten_of(trained_harness, DISTRICT_A)
    assert anna.get(f"/kindergartens/{kindergarten}").status_code == 200
    assert bo.get(f"/kindergartens/{kindergarten}").status_code == 404


def test_the_cache_is_bounded() -> None:
    keeper = PageCache()
    small, big = keeper.keep("x" * 10), keeper.keep("y" * 3000)
    assert big.size > 3 * small.size
    cache = PageCache(max_pages=3, max_bytes=small.size * 5 // 2)
    for i in range(5):
        cache.put(i, small)
    assert cache.get(0) is None and cache.get(4) is small
    assert sum(cache.get(i) is not None for i in range(5)) == 2  # the bound holds two
    cache.put("big", big)  # larger than the bound: kept alone, the rest dropped
    assert cache.get("big") is big and cache.get(3) is None and cache.get(4) is None
