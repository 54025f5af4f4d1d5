"""The API docs page (/docs, Swagger UI from the installed package) in Debian's Chromium: it
renders offline, fits the 1,400 px window and passes axe-core's WCAG 2.1 AA check — except for
what is Swagger UI's own markup, which the app does not write: those rules are listed in
:data:`SWAGGER_OWN` with the reason, and only they are let through, only on /docs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_fixtures import AppHarness
from browser_checks import WINDOW_WIDTH, axe_violations
from chromium_fixtures import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: axe rules that fail on markup Swagger UI itself renders (swagger_ui_bundle's JavaScript),
#: which the app cannot change without patching the package. The page is the developers' API
#: reference, not a planner's page; every other rule must pass.
SWAGGER_OWN: dict[str, str] = {}


@pytest.fixture
def docs_page(harness: AppHarness) -> Iterator[object]:
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    from serving.app.server import BackgroundServer

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with BackgroundServer(harness.app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": WINDOW_WIDTH, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        outside: list[str] = []
        page.on(
            "request",
            lambda r: outside.append(r.url) if not r.url.startswith(url) else None,
        )
        page.goto(f"{url}/docs")
        try:
            yield page, outside
        finally:
            context.close()
            browser.close()


def test_api_docs_render_offline_and_pass_axe_but_for_swaggers_own_markup(docs_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page, outside = docs_page
    expect(page.locator(".swagger-ui .information-container")).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=True)
    assert outside == []  # nothing fetched from another host
    assert page.evaluate("document.documentElement.scrollWidth") <= WINDOW_WIDTH
    violations = axe_violations(page)
    ours = [v for v in violations if v["id"] not in SWAGGER_OWN]
    assert ours == [], ours
