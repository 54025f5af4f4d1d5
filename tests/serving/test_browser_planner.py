"""A planner's day in Debian's Chromium (headless, through Playwright), in bokmål as the app
starts: log in, the overview, one kindergarten, start a plan, pin a line with a comment, solve
again, approve, try to approve the older draft, compare the two versions and download the Excel
file and open it with openpyxl. On every page: axe-core's WCAG 2.1 AA check, nothing wider than
the 1,400 px window, no code words, and a screenshot in test-artifacts/browser/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_fixtures import PASSWORD, AppHarness
from browser_checks import WINDOW_WIDTH, check_page
from chromium_fixtures import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip
from openpyxl.utils import get_column_letter

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PIN_COMMENT = "ingen plass til flere ansatte i år"


@pytest.fixture
def browser_page(served_harness: AppHarness) -> Iterator[tuple[object, str]]:
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    from serving.app.server import BackgroundServer

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with BackgroundServer(served_harness.app) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": WINDOW_WIDTH, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page, url
        finally:
            context.close()
            browser.close()


def test_planner_walks_through_plan_pin_resolve_approve_diff_and_excel(
    browser_page: tuple[object, str], tmp_path: Path
) -> None:
    from openpyxl import load_workbook
    from playwright.sync_api import Page, expect

    page, url = browser_page
    assert isinstance(page, Page)
    pending: list[str] = []
    problems: list[str] = []  # every page's accessibility, width and wording problems

    # log in
    page.goto(f"{url}/")
    expect(page).to_have_url(f"{url}/login?next=/")
    problems += check_page(page, "0-login")
    page.get_by_label("Brukernavn").fill("anna")
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").click()

    # overview
    expect(page.get_by_test_id("overview-table")).to_be_visible()
    expect(page.get_by_test_id("simulated-label")).to_have_text(
        "SIMULERTE DATA — ikke virkelige barnehager"
    )
    problems += check_page(page, "1-overview")

    # one kindergarten: charts drawn, each with its table
    page.get_by_test_id("overview-table").locator("tbody a").first.click()
    page.wait_for_url(f"{url}/kindergartens/*")
    expect(page.locator(".chart .main-svg").first).to_be_visible(timeout=30_000)
    assert page.locator("figure.chart-box details table").count() >= 4
    problems += check_page(page, "2-kindergarten")

    # start a plan
    page.get_by_role("link", name="Planer").first.click()
    page.wait_for_url(f"{url}/plans")
    expect(page.get_by_test_id("new-plan-form")).to_be_visible()
    problems += check_page(page, "3-plans")
    for name, pool in (
        ("pool_staff", "8"),
        ("pool_pedagogue", "4"),
        ("pool_resource_pedagogue", "5"),
    ):
        page.fill(f"input[name={name}]", pool)
    page.get_by_test_id("start-plan").click()
    page.wait_for_url(f"{url}/plans/*", timeout=300_000)  # a solve: minutes on a loaded machine
    expect(page.get_by_test_id("plan-status")).to_have_text("Utkast")
    first_plan_url = page.url.split("?")[0].split("#")[0]
    problems += check_page(page, "4-plan")

    # pin a changed line with a comment
    line = page.get_by_test_id("line").first
    kindergarten, resource = (
        line.get_attribute("data-kindergarten"),
        line.get_attribute("data-resource"),
    )
    line.locator("summary").click()
    line.get_by_label("Type låsing").select_option("ban")
    line.get_by_label("Hvorfor (må fylles ut)").fill(PIN_COMMENT)
    line.locator("[data-testid=pin-form] button[type=submit]").click()
    expect(page.get_by_text(PIN_COMMENT).first).to_be_visible()

    # solve again: version 2 keeps the pin
    page.get_by_test_id("resolve").click()
    page.wait_for_url(lambda u: u.split("?")[0].split("#")[0] != first_plan_url, timeout=300_000)
    expect(page.get_by_test_id("plan-version")).to_have_attribute("data-version", "2")
    second_plan_url = page.url.split("?")[0].split("#")[0]
    resolved = page.locator(f"tr[data-kindergarten='{kindergarten}'][data-resource='{resource}']")
    expect(resolved).to_contain_text("Låst av anna")
    expect(resolved).to_contain_text(PIN_COMMENT)
    problems += check_page(page, "5-resolved")

    # approve version 2
    page.get_by_test_id("approve-plan").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("Godkjent")
    problems += check_page(page, "6-approved")

    # compare version 1 (A) and version 2 (B)
    page.goto(f"{url}/plans")
    page.get_by_role("button", name="Sammenlign A og B").click()
    page.wait_for_url(f"{url}/plans/diff*")
    expect(page.get_by_test_id("diff-count")).to_be_visible()
    problems += check_page(page, "7-diff")
    pinned_in_diff = page.locator(
        f"[data-testid=diff] tr[data-kindergarten='{kindergarten}'][data-resource='{resource}']"
    )
    if pinned_in_diff.count() != 1:
        pending.append(
            "the pinned line is not listed in the diff of version 1 and 2: the diff compares "
            "planned figures and version 1's planned figure already has the pin applied "
            "(serving/overrides.plan_diff, #15 item 2)"
        )

    # the Excel file
    page.goto(second_plan_url)
    with page.expect_download() as download_info:
        page.get_by_test_id("export-xlsx").click()
    target = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(target)
    shutil.copy(target, ARTIFACTS / target.name)
    book = load_workbook(target)
    assert book.sheetnames == ["Plan", "Linjer", "Sammenligning", "Låsinger", "Endringslogg"]
    header = {r[0]: r[1] for r in book["Plan"].iter_rows(min_row=3, values_only=True)}
    assert header["Status"] == "Godkjent" and header["Godkjent av"] == "anna"
    assert header["Data"] == "SIMULERTE DATA — ikke virkelige barnehager"
    assert header["Modellversjon"] and header["Datafingeravtrykk"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref.startswith("A2:")
        headers = [c.value for c in sheet[2] if c.value]
        assert headers and all("_" not in h for h in headers)
        widths = [sheet.column_dimensions[get_column_letter(j)].width for j in range(1, 3)]
        assert all(w and w >= 8 for w in widths), sheet.title
    lines = book["Linjer"]
    headers = [c.value for c in lines[2]]
    risk = lines.cell(row=3, column=headers.index("Risiko for brudd på normen") + 1)
    # a number, not text (a risk of exactly 0 is stored by Excel as the integer 0)
    assert isinstance(risk.value, (int, float)) and risk.number_format == "0%"
    suggested = lines.cell(row=3, column=headers.index("Forslag (årsverk)") + 1)
    assert isinstance(suggested.value, float) and suggested.number_format == "#,##0.0"
    assert lines.max_row - 2 >= 3
    pins = [r for r in book["Låsinger"].iter_rows(min_row=3, values_only=True) if any(r)]
    assert any(PIN_COMMENT in str(r) for r in pins)

    # the exports page
    page.goto(f"{url}/exports")
    expect(page.get_by_role("heading", name="Eksport")).to_be_visible()
    problems += check_page(page, "8-exports")

    # approving the older draft must be refused, naming the plan that stands
    page.goto(first_plan_url)
    approve_older = page.get_by_test_id("approve-plan")
    if approve_older.count() == 0:
        pending.append("version 1 offers no approval at all (expected: a refusal with a message)")
    else:
        approve_older.click()
        # either the refusal or the page of an approved plan (the old behaviour)
        page.wait_for_selector(
            "[data-testid=error-message], [data-testid=plan-status][data-status=approved]"
        )
        message = page.get_by_test_id("error-message")
        if message.count():
            problems += check_page(page, "9-older-draft-refused")
            expect(message).to_be_visible()
            expect(message).to_contain_text(second_plan_url.rsplit("/", 1)[-1])  # the one standing
        else:
            pending.append(
                "approving the older draft was not refused (#15 item 1, one approved plan per "
                "district and period, is not in main yet)"
            )
    assert problems == []
    if pending:
        pytest.xfail("; ".join(pending))
