"""Numbers as a planner reads them: no e-notation, shares as %, NOK grouped, FTE one decimal."""

from __future__ import annotations

import math

from serving.formatting import (
    MISSING,
    THIN_SPACE,
    format_count,
    format_fte,
    format_nok,
    format_number,
    format_percent,
)


def test_large_and_small_numbers_never_use_e_notation() -> None:
    assert format_number(2.21e3, 0, "en") == f"2{THIN_SPACE}210"
    trillion = THIN_SPACE.join(["1", "000", "000", "000", "000"])
    assert format_number(1e12, 0, "nb") == trillion
    assert "e" not in format_number(1.5e-7, 2, "en").lower()
    assert format_number(-0.01, 1, "nb") == "0,0"


def test_shares_are_percentages_in_each_language() -> None:
    assert format_percent(0.1479, 0, "nb") == "15\u00a0%"
    assert format_percent(0.1479, 1, "en") == "14.8%"
    assert format_percent(float("nan")) == MISSING
    assert format_percent("<5") == "<5"


def test_nok_and_fte() -> None:
    assert format_nok(1_250_000, "nb") == f"1{THIN_SPACE}250{THIN_SPACE}000\u00a0kr"
    assert format_nok(1_250_000.4, "en") == f"NOK\u00a01{THIN_SPACE}250{THIN_SPACE}000"
    assert format_fte(6.66, "nb") == "6,7"
    assert format_fte(1, "en", signed=True) == "+1.0"
    assert format_fte(-1.25, "nb", signed=True) == "−1,2"
    assert format_fte(None) == MISSING and format_fte(math.inf) == MISSING


def test_suppressed_counts_stay_as_they_are() -> None:
    assert format_count("<5") == "<5"
    assert format_count(7.0) == "7"
