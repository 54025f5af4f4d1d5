"""The API docs page (/docs, Swagger UI from the installed package) in Debian's Chromium: it
renders offline (the OpenAPI 3.0 document Swagger UI 4 reads), fits the 1,400 px window and
passes axe-core's WCAG 2.1 AA check, as loaded and with an operation opened. Swagger UI's own
markup failed three rules; the app fixes them from outside the package: no top bar (its URL
box had no label), no deep links (a link nested in each operation's button) and darker badge
colours (static/swagger-overrides.css)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_fixtures import AppHarness
from browser_checks import WINDOW_WIDTH, axe_violations
from chromium_fixtures import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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


def test_api_docs_render_offline_and_pass_axe(docs_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page, outside = docs_page
    # Swagger UI builds the page from the document in the browser: slow on a loaded machine
    expect(page.locator(".opblock").first).to_be_visible(timeout=120_000)
    expect(page.locator(".swagger-ui .information-container")).to_be_visible()
    assert page.locator(".topbar input").count() == 0
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=True)
    assert outside == []  # nothing fetched from another host
    assert page.evaluate("document.documentElement.scrollWidth") <= WINDOW_WIDTH
    assert axe_violations(page) == []
    page.locator(".opblock-summary-control").first.click()  # an operation opened
    expect(page.locator(".opblock-body").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "docs-operation.png"), full_page=True)
    assert axe_violations(page) == []
