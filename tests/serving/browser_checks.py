"""What the browser walk-through checks on every page: axe-core's WCAG 2.1 AA rules (no serious
or critical violation), nothing wider than the 1,400 px window, no code words in the text, and a
full-page screenshot kept under test-artifacts/browser/."""

from __future__ import annotations

from typing import Any

from chromium_fixtures import ARTIFACTS
from page_text import code_words

WINDOW_WIDTH = 1400
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = ("serious", "critical")


def axe_violations(page: Any) -> list[dict]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING_IMPACTS
    ]


def check_page(page: Any, name: str) -> list[str]:
    """Every page's checks: the problems found (empty when none). The full-page screenshot is
    kept as test-artifacts/browser/{name}.png — look at it."""
    page.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > WINDOW_WIDTH:
        problems.append(f"{name}: the page is {width} px wide")
    problems += [f"{name}: axe {v}" for v in axe_violations(page)]
    if codes := code_words(page.content()):
        problems.append(f"{name}: code words {codes}")
    return problems
