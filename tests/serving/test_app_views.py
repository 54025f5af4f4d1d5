"""The overview's arithmetic against hand-worked kindergartens: the norm need, the legal breach
flag (contracted FTE against the norms) apart from effective cover after sick leave, and
probabilities from scenarios without a cap."""

from __future__ import annotations

import pandas as pd
import pytest

from data.contract import QUANTILE_COLUMNS, District
from serving.app.views import band_svg, overview_table


def _monthly(kindergarten_id: str, staff_fte: float, sick_leave: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kindergarten_id": kindergarten_id,
            "month": pd.period_range("2025-01", "2025-12", freq="M"),
            "children_under3": 12,
            "children_over3": 30,
            "staff_fte": staff_fte,
            "pedagogue_fte": 4.0,
            "vedtak_31": 2,
            "vedtak_37": 0,
            "sick_leave_rate": sick_leave,
            "staff_leavers": 0,
        }
    )


def _forecast_rows(
    kindergarten_id: str, medians: dict[str, float], spread: tuple[float, ...] = (0.0,) * 7
) -> list[dict]:
    """12 months of forecasts from 2026-01, each target's quantiles its median plus ``spread``."""
    rows = []
    origin = pd.Period("2025-12", "M")
    for h, month in enumerate(pd.period_range("2026-01", periods=12, freq="M"), start=1):
        for target, value in medians.items():
            rows.append(
                {
                    "kindergarten_id": kindergarten_id,
                    "origin": origin,
                    "month": month,
                    "horizon": h,
                    "target": target,
                    **{q: value + d for q, d in zip(QUANTILE_COLUMNS, spread, strict=True)},
                }
            )
    return rows


def _forecasts(kindergarten_id: str, sick_leave: float) -> list[dict]:
    return _forecast_rows(
        kindergarten_id,
        {
            "children_under3": 12.0,
            "children_over3": 30.0,
            "vedtak_31": 4.0,
            "sick_leave_rate": sick_leave,
        },
    )


def test_overview_flags_the_legal_breach_apart_from_effective_cover() -> None:
    # 12 under 3 and 30 over 3 need (2·12 + 30) / 6 = 9 staff FTE and ceil(54 / 14) = 4 pedagogues.
    # K1 has 7 FTE contracted: a legal breach now and in every scenario (probability 1, no cap).
    # K2 has 10 FTE contracted, meeting the norms on paper, but 15 % sick leave leaves 8.5 FTE.
    monthly = pd.concat([_monthly("K1", 7.0, 0.15), _monthly("K2", 10.0, 0.15)])
    kindergartens = pd.DataFrame(
        {
            "kindergarten_id": ["K1", "K2"],
            "name": ["Short", "On paper"],
            "district": ["D", "D"],
            "capacity": [60, 60],
        }
    )
    forecasts = pd.DataFrame(_forecasts("K1", 0.15) + _forecasts("K2", 0.15))
    table = overview_table(District(kindergartens, monthly), forecasts).set_index("kindergarten_id")
    short, on_paper = table.loc["K1"], table.loc["K2"]
    assert short["need_staff_fte_p50"] == pytest.approx((2 * 12 + 30) / 6)  # 9 FTE
    assert short["need_pedagogues"] == 4  # ceil(54 / 14)
    assert not short["legal_ok_now"] and short["staff_gap_fte_now"] == pytest.approx(2.0)
    assert short["breach_probability"] == short["legal_breach_probability"] == 1.0
    assert short["effective_breach_probability"] == 1.0
    assert short["flag_breach"] and short["flag_rising_31"] and short["flag_sick_leave"]
    assert short["flag_effective_cover"] and not short["flag_turnover"]
    assert short["n_flags"] == 4
    assert on_paper["legal_ok_now"] and on_paper["breach_probability"] == 0.0
    assert not on_paper["flag_breach"]
    assert on_paper["effective_breach_probability"] == 1.0 and on_paper["flag_effective_cover"]
    assert short["band_p50"] == [42.0] * 12
    assert band_svg(short["band_p10"], short["band_p50"], short["band_p90"]).startswith("<svg")


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


def _spread_forecasts(kindergarten_id: str, under3: float, over3: float) -> list[dict]:
    """Children around the given medians, a child or two either way (as a good model's)."""
    return _forecast_rows(
        kindergarten_id,
        {"children_under3": under3, "children_over3": over3},
        (-2.0, -1.5, -1.0, 0.0, 1.0, 1.5, 2.0),
    )


def test_staffed_to_the_norm_on_paper_is_rarely_flagged_but_a_real_shortfall_ahead_is() -> None:
    # 12 under 3 and 30 over 3 need 9.0 staff FTE and 4 pedagogues: 20 kindergartens hold exactly
    # that and expect the same children (a child or two either way). At the norm's edge each
    # month is a near coin flip of being a few tenths short; that is the routine adjustment of
    # contracts, not a breach. "Grows" expects 4 more over-3s from January (0.67 FTE short).
    ids = [f"K{i:02d}" for i in range(20)]
    monthly = pd.concat([_monthly(k, 9.0, 0.05) for k in [*ids, "Grows"]])
    kindergartens = pd.DataFrame(
        {
            "kindergarten_id": [*ids, "Grows"],
            "name": [*ids, "Grows"],
            "district": "D",
            "capacity": 60,
        }
    )
    forecasts = pd.DataFrame(
        [row for k in ids for row in _spread_forecasts(k, 12.0, 30.0)]
        + _spread_forecasts("Grows", 12.0, 34.0)
    )
    table = overview_table(District(kindergartens, monthly), forecasts).set_index("kindergarten_id")
    assert table["legal_ok_now"].all()
    at_the_edge = table.loc[ids]
    assert at_the_edge["flag_breach"].mean() <= 0.1
    assert table.loc["Grows", "flag_breach"]
    assert table.loc["Grows", "legal_breach_probability"] >= 0.5
