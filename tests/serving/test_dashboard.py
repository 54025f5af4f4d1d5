"""The district dashboard: key-figure cards, a page per key figure, absent indicators naming
their source, a kindergarten's indicators, small counts masked for viewers, and screenshots at
1400 px in Chromium (kept in test-artifacts/browser/)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from app_fixtures import PASSWORD, AppHarness
from chromium_fixtures import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip

from data.quality import CATALOGUE


def test_dashboard_cards_for_present_figures_and_sources_for_absent_ones(harness: AppHarness):
    client = harness.client_for("admin")
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    html = page.text
    for key in (
        "children",
        "sick_leave_rate",
        "turnover",
        "parent_survey_overall",
        "hse_incidents",
    ):
        assert f'data-testid="card-{key}"' in html
    # the simulator leaves CLASS and TOPI out: the page says which source would bring them
    assert 'data-testid="card-class_emotional_support"' not in html
    assert (
        f"CLASS: emosjonell støtte</a>: kommer fra {CATALOGUE['class_emotional_support'].source}"
        in html
    )
    assert "Spredning" in html and "siden" in html
    text = re.sub(r"<(style|script)[^>]*>.*?</\1>|<[^>]+>", " ", html, flags=re.S)
    assert not re.search(r"\d[eE][+-]?\d", text)  # no e-notation on a page
    assert "_" not in text  # no snake_case shown


def test_figure_page_has_distribution_history_areas_living_conditions_and_furthest(
    harness: AppHarness,
):
    client = harness.client_for("admin")
    page = client.get("/dashboard/sick_leave_rate")
    assert page.status_code == 200, page.text
    html = page.text
    for testid in ("chart-history", "chart-distribution", "furthest", "by-area", "by-living"):
        assert f'data-testid="{testid}"' in html
    assert "Median i bydelen" in html and "HR-systemet" in html
    assert "lav andel lavinntekt" in html


def test_absent_figure_page_says_which_source_would_bring_it(harness: AppHarness):
    client = harness.client_for("admin")
    html = client.get("/dashboard/topi_concern_share").text
    assert 'data-testid="figure-absent"' in html
    assert CATALOGUE["topi_concern_share"].source in html
    assert client.get("/dashboard/no_such_figure").status_code == 404


def test_viewers_see_small_incident_counts_masked_and_no_distribution(harness: AppHarness):
    viewer = harness.client_for("vera")
    html = viewer.get("/dashboard/hse_incidents").text
    assert 'data-testid="chart-distribution"' not in html
    furthest = html.split('data-testid="furthest"')[1].split("</table>")[0]
    cells = re.findall(r'<td class="num">([^<]*)</td>', furthest)
    assert cells and all(c == "&lt;5" or int(c.replace("\u202f", "")) >= 5 for c in cells)
    planner = harness.client_for("anna")
    assert 'data-testid="chart-distribution"' in planner.get("/dashboard/hse_incidents").text


def test_kindergarten_page_part_lists_every_indicator(harness: AppHarness, sim_district):
    client = harness.client_for("admin")
    kid = str(sim_district.kindergartens["kindergarten_id"].iloc[0])
    html = client.get(f"/dashboard/kindergartens/{kid}").text
    assert 'data-testid="kindergarten-indicators"' in html
    assert "Foreldre: alt i alt fornøyd" in html
    assert "Mangler – kommer fra CLASS-observasjon" in html
    assert client.get("/dashboard/kindergartens/nope").status_code == 404


@pytest.fixture
def dashboard_browser(harness: AppHarness) -> Iterator[tuple[object, str]]:
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    from serving.app.server import BackgroundServer

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with BackgroundServer(harness.app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page, url
        finally:
            context.close()
            browser.close()


@pytest.mark.browser
@pytest.mark.slow
def test_dashboard_in_the_browser_at_1400_px(dashboard_browser):
    from playwright.sync_api import Page, expect

    page, url = dashboard_browser
    assert isinstance(page, Page)
    page.goto(f"{url}/login?next=/dashboard")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("dashboard-cards")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-1-cards.png"), full_page=True)
    page.get_by_test_id("card-parent_survey_overall").click()
    page.wait_for_url(f"{url}/dashboard/parent_survey_overall")
    expect(page.get_by_test_id("figure-title")).to_contain_text("Foreldre", timeout=30_000)
    expect(page.locator("#chart-history .main-svg").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-2-figure.png"), full_page=True)
    page.goto(f"{url}/")
    expect(page.get_by_test_id("dashboard-cards")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-0-overview.png"), full_page=True)
    page.goto(f"{url}/dashboard/class_emotional_support")
    expect(page.get_by_test_id("figure-absent")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-3-absent.png"), full_page=True)


def test_the_app_serves_a_raw_folder_and_shows_where_each_figure_comes_from(
    tmp_path, simulation, empty_tracking_uri
):
    from app_fixtures import add_users, app_settings, login
    from fastapi.testclient import TestClient

    from serving.app.main import create_app
    from simulate.raw import write_raw_exports

    raw = tmp_path / "raw"
    write_raw_exports(simulation.district, raw)
    settings = app_settings(f"sqlite:///{tmp_path / 'app.db'}", raw, empty_tracking_uri)
    app = create_app(settings)
    add_users(app.state.sessions)
    try:
        with TestClient(app, follow_redirects=False) as client:
            login(client, "admin")
            html = client.get("/dashboard/sick_leave_rate").text
            assert "hr/sykefravaer.csv" in html
            assert "kvartalsvis, kjent 1 måned etter periodens slutt" in html
            survey = client.get("/dashboard/parent_survey_overall").text
            assert "undersokelser/foreldreundersokelsen.csv" in survey
            assert "årlig, kjent 2 måneder etter periodens slutt" in survey
    finally:
        app.state.engine_state.close()
        app.state.db_engine.dispose()


def test_catalogue_indicators_read_in_bokmal_as_the_data_catalogue_names_them() -> None:
    from serving.app.dashboard import INDICATOR_WORDS
    from serving.i18n import gettext

    assert set(INDICATOR_WORDS) == set(CATALOGUE)
    for name, (label, source) in INDICATOR_WORDS.items():
        assert gettext("nb", label) == CATALOGUE[name].label, name
        assert gettext("nb", source) == CATALOGUE[name].source, name


def test_dashboard_pages_speak_english_when_chosen_and_carry_no_inline_style(
    harness: AppHarness, sim_district
):
    from page_text import code_words, visible_text

    from serving.i18n import LANGUAGE_COOKIE

    client = harness.client_for("admin")
    kid = str(sim_district.kindergartens["kindergarten_id"].iloc[0])
    paths = ("/dashboard", "/dashboard/sick_leave_rate", "/dashboard/topi_concern_share")
    for language in ("nb", "en"):
        client.cookies.set(LANGUAGE_COOKIE, language)
        for path in (*paths, f"/dashboard/kindergartens/{kid}", "/dashboard/cards"):
            html = client.get(path).text
            assert "<style" not in html and " style=" not in html, path
            assert code_words(html) == {}, (language, path)
    english = " ".join(visible_text(client.get(p).text) for p in paths)
    assert "(simulated)" in english and "(simulert)" not in english
    client.cookies.set(LANGUAGE_COOKIE, "nb")
    bokmal = visible_text(client.get("/dashboard/sick_leave_rate").text)
    assert "(simulert)" in bokmal and "(simulated)" not in bokmal
    for word in ("Nøkkeltall", "barnehager", "Kilde", "Skala", "siden", "Spredning", "lavinntekt"):
        assert word not in english, word
    assert "Sick leave" in english and "The district's key figures" in english
    assert "low share in low-income households" in english


def test_a_simulated_name_says_simulated_once_in_the_pages_language() -> None:
    from serving.words import place_name

    assert place_name("nb", "Frogner barnehage 2 (simulated)") == "Frogner barnehage 2 (simulert)"
    assert place_name("en", "Frogner barnehage 2 (simulated)") == "Frogner barnehage 2 (simulated)"
    assert place_name("nb", "Solsikken barnehage") == "Solsikken barnehage"
    assert place_name("nb", None) == ""
