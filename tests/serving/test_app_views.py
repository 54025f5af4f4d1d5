"""The overview's arithmetic: breach probability from forecast quantiles, and the norm need
against a hand-worked kindergarten."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.contract import QUANTILE_COLUMNS, District
from serving.app.views import band_svg, exceedance_probability, overview_table

QUANTILES_ROW = np.array([[10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]])


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (13.0, 0.5),
        (15.0, 0.10),
        (11.0, 0.90),
        (16.0, 0.025),
        (20.0, 0.0),
        (5.0, 0.975),
    ],
)
def test_exceedance_probability_reads_the_quantile_function(
    threshold: float, expected: float
) -> None:
    got = exceedance_probability(QUANTILES_ROW, np.array([threshold]))
    assert got[0] == pytest.approx(expected)


def test_overview_need_follows_the_staffing_norm_and_flags_a_breach() -> None:
    months = pd.period_range("2025-01", "2025-12", freq="M")
    monthly = pd.DataFrame(
        {
            "kindergarten_id": "K1",
            "month": months,
            "children_under3": 12,
            "children_over3": 30,
            "staff_fte": 7.0,
            "pedagogue_fte": 4.0,
            "vedtak_31": 2,
            "vedtak_37": 0,
            "sick_leave_rate": 0.15,
            "staff_leavers": 0,
        }
    )
    kindergartens = pd.DataFrame(
        {"kindergarten_id": ["K1"], "name": ["Test"], "district": ["D"], "capacity": [60]}
    )
    rows = []
    for h, month in enumerate(pd.period_range("2026-01", periods=12, freq="M"), start=1):
        for target, value in (
            ("children_under3", 12.0),
            ("children_over3", 30.0),
            ("vedtak_31", 4.0),
        ):
            rows.append(
                {
                    "kindergarten_id": "K1",
                    "origin": months[-1],
                    "month": month,
                    "horizon": h,
                    "target": target,
                    **{q: value for q in QUANTILE_COLUMNS},
                }
            )
    table = overview_table(District(kindergartens, monthly), pd.DataFrame(rows))
    row = table.iloc[0]
    assert row["need_staff_fte_p50"] == pytest.approx((2 * 12 + 30) / 6)  # 9 FTE
    assert row["need_pedagogues"] == 4  # ceil(54 / 14)
    assert row["breach_probability"] == pytest.approx(0.975)  # 7 × 0.85 FTE < 9 everywhere
    assert row["flag_breach"] and row["flag_rising_31"] and row["flag_sick_leave"]
    assert not row["flag_turnover"] and row["n_flags"] == 3
    assert row["band_p50"] == [42.0] * 12
    assert band_svg(row["band_p10"], row["band_p50"], row["band_p90"]).startswith("<svg")


def test_fan_chart_is_strict_json_with_the_legend_above_the_plot() -> None:
    import json

    from serving.app.views import ChartWords, chart_table, fan_chart

    months = pd.period_range("2026-01", periods=4, freq="M")
    history = pd.DataFrame({"month": months[:2], "children_over3": [30.0, float("nan")]})
    forecasts = pd.DataFrame(
        {
            "target": "children_over3",
            "horizon": [1, 2],
            "month": months[2:],
            **{q: [31.0, float("nan")] for q in ("p05", "p10", "p25", "p50", "p75", "p90", "p95")},
        }
    )
    words = ChartWords(observed="observert", x_title="måned", y_title="barn", separators=", ")
    figure = fan_chart(history, forecasts, "children_over3", title="Barn", words=words)
    text = json.dumps(figure, allow_nan=False)  # JSON.parse in the browser refuses NaN
    assert "observert" in text and figure["layout"]["separators"] == ", "
    legend, xaxis = figure["layout"]["legend"], figure["layout"]["xaxis"]
    assert legend["y"] >= 1 and legend["yanchor"] == "bottom"  # above the plot area
    assert xaxis["title"]["text"] == "måned"
    table = chart_table(history, forecasts, "children_over3")
    assert table["month"].tolist() == ["2026-01", "2026-03", "2026-04"]
    assert table.loc[0, "observed"] == 30.0 and table.loc[1, "p50"] == 31.0
