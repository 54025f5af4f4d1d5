"""The district's key figures against a hand-worked district: each figure with its trend, and
§ 31/§ 37 counts masked under 5 for an internal view (by the one privacy rule), exact otherwise."""

from __future__ import annotations

import pandas as pd
import pytest

from data.contract import QUANTILE_COLUMNS, District
from serving.key_figures import key_figures, key_figures_frame


def _district() -> District:
    months = pd.period_range("2024-12", "2025-12", freq="M")  # 13 months: now and a year back
    rows = []
    for kid, staff in (("K1", 9.0), ("K2", 8.0)):
        for i, month in enumerate(months):
            later = i == len(months) - 1
            rows.append(
                {
                    "kindergarten_id": kid,
                    "month": month,
                    "children_under3": 12,
                    "children_over3": 30 if later else 24,
                    "staff_fte": staff,
                    "pedagogue_fte": 4.0,
                    "vedtak_31": 2 if later else 3,  # 4 in the district now, 6 a year ago
                    "vedtak_37": 3,  # 6 now and a year ago
                    "waiting_list": 5 if later else 2,
                    "sick_leave_rate": 0.10,
                    "staff_leavers": 1 if i % 6 == 0 else 0,
                    "minority_language_share": 0.5 if kid == "K1" else 0.25,
                    "low_income_share": 0.2,
                }
            )
    kindergartens = pd.DataFrame(
        {"kindergarten_id": ["K1", "K2"], "name": ["A", "B"], "district": ["D", "D"]}
    )
    return District(kindergartens, pd.DataFrame(rows))


def _forecasts() -> pd.DataFrame:
    origin = pd.Period("2025-12", "M")
    rows = [
        {
            "kindergarten_id": kid,
            "origin": origin,
            "month": origin + h,
            "horizon": h,
            "target": target,
            **{q: value for q in QUANTILE_COLUMNS},
        }
        for kid in ("K1", "K2")
        for h in range(1, 13)
        for target, value in (("children_under3", 10.0), ("children_over3", 30.0))
    ]
    return pd.DataFrame(rows)


def test_key_figures_with_their_trends() -> None:
    figures = {f.key: f for f in key_figures(_district(), _forecasts())}
    assert (figures["children_now"].value, figures["children_now"].previous) == (84.0, 72.0)
    assert figures["children_now"].trend == "up"
    assert figures["children_12m"].value == 80.0 and figures["children_12m"].previous == 84.0
    assert figures["children_12m"].trend == "down"
    assert (figures["vedtak_31"].value, figures["vedtak_31"].previous) == (4.0, 6.0)
    assert figures["vedtak_37"].trend == "flat"
    assert (figures["waiting_list"].value, figures["waiting_list"].trend) == (10.0, "up")
    assert figures["sick_leave"].value == pytest.approx(0.10)
    # 2 leavers per kindergarten in months 0, 6, 12 of the data; the last 12 months hold 2 each
    assert figures["turnover"].value == pytest.approx(4 / 17.0)
    assert figures["minority_language_share"].value == pytest.approx(0.375)
    assert figures["low_income_share"].value == pytest.approx(0.2)
    # now (2·12 + 30) / 6 = 9 FTE needed: K1 (9) meets it, K2 (8) does not; a year ago 8 needed
    assert figures["norm_compliance"].value == 0.5
    assert figures["norm_compliance"].previous == 1.0
    assert figures["norm_compliance"].trend == "down"
    frame = key_figures_frame(list(figures.values()))
    assert list(frame["key"]) == list(figures) and frame["change"].notna().any()


def test_decision_counts_under_5_are_masked_for_an_internal_view_only() -> None:
    internal = {f.key: f for f in key_figures(_district(), _forecasts(), internal=True)}
    assert internal["vedtak_31"].value == "<5" and internal["vedtak_31"].previous == 6.0
    assert internal["vedtak_31"].trend == ""  # a trend would give the masked count away
    assert internal["vedtak_37"].value == 6.0
    planner = {f.key: f for f in key_figures(_district(), _forecasts(), internal=False)}
    assert planner["vedtak_31"].value == 4.0
