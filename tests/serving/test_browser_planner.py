"""A planner's day in Debian's Chromium (headless, through Playwright): log in, start a plan,
pin a line and re-solve, approve, download the Excel file and open it. Screenshots are kept in
test-artifacts/browser/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_fixtures import PASSWORD, AppHarness
from chromium_fixtures import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip

from data.contract import SIMULATED_LABEL

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def browser_page(served_harness: AppHarness) -> Iterator[tuple[object, str]]:
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    from serving.app.server import BackgroundServer

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with BackgroundServer(served_harness.app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1400, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page, url
        finally:
            context.close()
            browser.close()


def test_planner_logs_in_plans_pins_resolves_approves_and_downloads_excel(
    browser_page: tuple[object, str], tmp_path: Path
) -> None:
    from openpyxl import load_workbook
    from playwright.sync_api import Page, expect

    page, url = browser_page
    assert isinstance(page, Page)
    page.goto(f"{url}/")
    expect(page).to_have_url(f"{url}/login?next=/")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("overview-table")).to_be_visible()
    expect(page.get_by_test_id("simulated-label")).to_contain_text("SIMULATED")
    page.screenshot(path=str(ARTIFACTS / "1-overview.png"), full_page=True)

    page.get_by_role("link", name="Plans").first.click()
    for name, pool in (
        ("pool_staff", "8"),
        ("pool_pedagogue", "4"),
        ("pool_resource_pedagogue", "5"),
    ):
        page.fill(f"input[name={name}]", pool)
    page.get_by_test_id("start-plan").click()
    page.wait_for_url(f"{url}/plans/*")
    expect(page.get_by_test_id("plan-status")).to_have_text("draft")
    first_plan_url = page.url
    page.screenshot(path=str(ARTIFACTS / "2-plan.png"), full_page=True)

    line = page.get_by_test_id("line").first
    kindergarten, resource = (
        line.get_attribute("data-kindergarten"),
        line.get_attribute("data-resource"),
    )
    line.locator("summary").click()
    line.locator("select[name=kind]").select_option("ban")
    line.locator("input[name=comment]").fill("no room for more staff this year")
    line.locator("[data-testid=pin-form] button[type=submit]").click()
    expect(page.get_by_text("no room for more staff this year").first).to_be_visible()
    page.get_by_test_id("resolve").click()
    page.wait_for_url(lambda u: u != first_plan_url and "/plans/" in u)
    expect(page.get_by_text("version 2")).to_be_visible()
    resolved = page.locator(f"tr[data-kindergarten='{kindergarten}'][data-resource='{resource}']")
    expect(resolved).to_contain_text("pinned")
    expect(resolved).to_contain_text("+0.0")
    page.screenshot(path=str(ARTIFACTS / "3-resolved.png"), full_page=True)

    page.get_by_test_id("approve-plan").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("approved")
    page.screenshot(path=str(ARTIFACTS / "4-approved.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_test_id("export-xlsx").click()
    target = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(target)
    shutil.copy(target, ARTIFACTS / target.name)
    book = load_workbook(target)
    header = {row[0]: row[1] for row in book["header"].iter_rows(min_row=2, values_only=True)}
    assert header["status"] == "approved" and header["approved_by"] == "anna"
    assert header["data"] == SIMULATED_LABEL and header["model_version"]
    assert header["data_fingerprint"]
    lines = list(book["lines"].iter_rows(min_row=3, values_only=True))
    assert lines and all(row[0] == header["plan_id"] for row in lines)
