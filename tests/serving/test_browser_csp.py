"""The pages work under the Content-Security-Policy in Debian's Chromium: the fan charts draw
from the static script (direct load and hx-boost navigation) and the browser reports no CSP
violation."""

from __future__ import annotations

import pytest
from app_fixtures import PASSWORD, AppHarness
from chromium_fixtures import CHROMIUM_ARGS, chromium_or_skip

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_charts_draw_and_nothing_breaks_the_csp(trained_harness: AppHarness) -> None:
    chromium = chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright

    from serving.app.server import BackgroundServer

    with BackgroundServer(trained_harness.app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        console: list[str] = []
        page.on("console", lambda msg: console.append(msg.text))
        page.on("pageerror", lambda error: console.append(str(error)))
        try:
            page.goto(f"{url}/login")
            page.fill("input[name=name]", "anna")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.get_by_test_id("overview-table")).to_be_visible()
            link = page.locator("a[href^='/kindergartens/']").first
            target = link.get_attribute("href")
            link.click()  # hx-boost: only the body is swapped
            expect(page.locator(".chart .main-svg").first).to_be_attached(timeout=30_000)
            page.goto(f"{url}{target}")  # a direct load
            expect(page.locator(".chart .main-svg").first).to_be_attached(timeout=30_000)
        finally:
            print("\n".join(console))
            browser.close()
    assert [m for m in console if "Content Security Policy" in m] == []
