"""The benefit report's arithmetic: suppression of small decision counts, substitute hours and
cost, and benefits that are exact differences of the plan summary's cells."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.allocation.comparison import EQUITY_0, RISK_NEUTRAL
from serving.report.benefits import (
    benefit_cards,
    benefits_table,
    substitute_table,
    worse_measures,
)
from serving.report.forecast_quality import not_better_sentence, quality_rows
from serving.report.numbers import (
    KEY,
    NOTHING,
    PLAN,
    PlanSettingsShown,
    ReportSettings,
    SummaryLayout,
)
from serving.report.privacy import suppress_count, suppress_decision_counts
from serving.report.tables import format_cell

#: The layout of ``PlanResult.summary`` (see models.allocation.explain.allocation_summary).
SUMMARY = pd.DataFrame(
    {
        "allocation": [PLAN, KEY, NOTHING],
        "unmet_staff_fte_months": [4.0, 10.0, 16.0],
        "unmet_pedagogue_fte_months": [1.0, 3.0, 5.0],
        "unmet_resource_pedagogue_fte_months": [2.0, 2.5, 9.0],
        "breach_months_staffing": [3.0, 7.0, 12.0],
        "breach_months_pedagogue": [1.0, 2.0, 4.0],
        "breach_months_special_needs": [6.0, 6.5, 20.0],
        "weighted_unmet": [50.0, 90.0, 160.0],
        "cost_nok": [1e6, 1e6, 0.0],
    }
)


@pytest.mark.parametrize(
    ("count", "shown"), [(0, "<5"), (1, "<5"), (4, "<5"), (5, "5"), (12, "12"), (None, "–")]
)
def test_decision_counts_under_five_are_suppressed(count: int | None, shown: str) -> None:
    assert suppress_count(count) == shown


def test_suppressed_count_leaks_no_raw_value() -> None:
    cell = format_cell(3, "decisions")
    assert cell.text == "<5" and cell.value is None
    assert format_cell(7, "decisions").value == 7


def test_suppression_touches_only_decision_columns() -> None:
    frame = pd.DataFrame({"vedtak_31": [2, 9], "vedtak_37": [0, 5], "children_over3": [3, 40]})
    shown = suppress_decision_counts(frame)
    assert shown["vedtak_31"].tolist() == ["<5", "9"]
    assert shown["vedtak_37"].tolist() == ["<5", "5"]
    assert shown["children_over3"].tolist() == [3, 40]


def test_layout_reads_resources_and_norms_from_column_names() -> None:
    layout = SummaryLayout.of(SUMMARY)
    assert layout.unmet == {
        "staff": "unmet_staff_fte_months",
        "pedagogue": "unmet_pedagogue_fte_months",
        "resource_pedagogue": "unmet_resource_pedagogue_fte_months",
    }
    assert layout.breach == {
        "staffing": "breach_months_staffing",
        "pedagogue": "breach_months_pedagogue",
        "special_needs": "breach_months_special_needs",
    }


def test_one_fte_month_is_162_5_substitute_hours() -> None:
    settings = ReportSettings(substitute_cost_nok_per_hour=400.0)
    assert settings.hours_per_fte_month == pytest.approx(37.5 * 52 / 12) == pytest.approx(162.5)
    table = substitute_table(SUMMARY, SummaryLayout.of(SUMMARY), settings).set_index("allocation")
    # plan: staff 4 + special needs 2 = 6 FTE-months to cover → 975 h → 390,000 NOK; the
    # pedagogue shortfall (positions on paper, hours already in the staff shortfall) is not
    # counted twice
    assert table.loc[PLAN, "unmet_fte_months"] == pytest.approx(6.0)
    assert table.loc[PLAN, "substitute_hours"] == pytest.approx(975.0)
    assert table.loc[PLAN, "substitute_cost_nok"] == pytest.approx(390_000.0)
    # the key leaves 12.5 FTE-months: 6.5 more than the plan
    assert table.loc[PLAN, "avoided_vs_key_nok"] == pytest.approx(6.5 * 162.5 * 400)
    assert table.loc[KEY, "avoided_vs_key_nok"] == 0.0


def test_benefits_are_differences_of_summary_cells() -> None:
    layout = SummaryLayout.of(SUMMARY)
    table = benefits_table(SUMMARY, layout, ReportSettings(), language="en")
    staff = table[table["measure"].str.contains("basic staff")].iloc[0]
    assert staff[PLAN] == SUMMARY.set_index("allocation").loc[PLAN, "unmet_staff_fte_months"]
    assert staff["gain_vs_key"] == pytest.approx(10.0 - 4.0)
    assert staff["gain_vs_nothing"] == pytest.approx(16.0 - 4.0)
    breach = table[table["measure"].str.contains("staffing norm")].iloc[0]
    assert breach["unit"] == "kindergarten-months"
    assert breach["gain_vs_key"] == pytest.approx(4.0)
    assert set(table["kind"]) == {"avoided cost", "time saved", "higher quality"}


def test_headline_cards_cover_all_three_kinds_of_benefit() -> None:
    cards = {
        c.key: c
        for c in benefit_cards(
            SUMMARY,
            SummaryLayout.of(SUMMARY),
            ReportSettings(substitute_cost_nok_per_hour=350),
            language="en",
        )
    }
    assert cards["cost"].value == pytest.approx(6.5 * 162.5 * 350)
    assert cards["time"].value == pytest.approx(6.5 * 162.5)
    assert cards["quality"].value == pytest.approx((7 - 3) + (2 - 1) + (6.5 - 6))
    assert cards["special-needs"].value == pytest.approx(0.5)
    assert {c.kind for c in cards.values()} == {"avoided cost", "time saved", "higher quality"}


def test_a_figure_where_the_plan_is_worse_is_said_in_words_never_as_a_negative_gain() -> None:
    # the plan leaves more § 31/§ 37 breach-months than the key (as the equity weight may make
    # it); without the equity weight it would leave fewer
    worse = pd.concat(
        [
            SUMMARY,
            pd.DataFrame(
                {
                    "allocation": [EQUITY_0, RISK_NEUTRAL],
                    **{c: SUMMARY[c].iloc[0] for c in SUMMARY.columns if c != "allocation"},
                }
            ),
        ],
        ignore_index=True,
    ).set_index("allocation")
    worse.loc[PLAN, "breach_months_special_needs"] = 20.0  # key 6.5: the plan is worse
    worse.loc[EQUITY_0, "breach_months_special_needs"] = 5.0
    cards = {
        c.key: c
        for c in benefit_cards(
            worse.reset_index(),
            SummaryLayout.of(SUMMARY),
            ReportSettings(),
            PlanSettingsShown(equity_weight=1.0, tail_weight=0.25, spend_nok={PLAN: 1e6, KEY: 2e6}),
            language="en",
        )
    }
    quality = cards["quality"]  # plan 3+1+20 = 24 against the key's 7+2+6.5 = 15.5
    assert quality.verdict == "worse" and quality.value == 0.0 and quality.text == "no gain"
    assert "24.0 against 15.5" in quality.why
    assert "Without its equity weight (1)" in quality.why and "9.0" in quality.why
    assert "The allocation key also spends NOK\u00a01\u202f000\u202f000 more" in quality.why
    assert cards["cost"].verdict == "better" and cards["cost"].value > 0


def test_a_worse_figure_no_setting_explains_names_the_norm_weights() -> None:
    worse = SUMMARY.set_index("allocation").copy()
    worse.loc[PLAN, "unmet_resource_pedagogue_fte_months"] = 4.0  # key 2.5
    (card,) = [
        c
        for c in benefit_cards(
            worse.reset_index(), SummaryLayout.of(SUMMARY), ReportSettings(), language="en"
        )
        if c.key == "special-needs"
    ]
    assert card.verdict == "worse" and card.value == 0.0
    assert "norms first" in card.why and "4.0 against 2.5" in card.why


def test_summary_without_unmet_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="no unmet-need columns"):
        SummaryLayout.of(pd.DataFrame({"cost": [1.0]}))


def test_numbers_are_written_with_units() -> None:
    # bokmål by default: grouped thousands, a decimal comma, "kr" and "%" after a space
    assert format_cell(1234567.4, "nok").text == "1\u202f234\u202f567\u00a0kr"
    assert format_cell(0.234, "share").text == "23,4\u00a0%"
    assert format_cell(12.345, "fte").text == "12,3"
    assert format_cell(-3.26, "fte", signed=True).text == "−3,3"
    assert format_cell(1234567.4, "nok", "en").text == "NOK\u00a01\u202f234\u202f567"
    assert format_cell(12.345, "fte", "en").text == "12.3"
    assert format_cell(1e7, "fte").text == "10\u202f000\u202f000,0"  # never e-notation
    assert format_cell(math.nan, "fte").text == "–"


def test_every_measure_where_the_plan_is_worse_is_said_in_words() -> None:
    worse = SUMMARY.set_index("allocation").copy()
    worse.loc[PLAN, "breach_months_special_needs"] = 9.0  # key 6.5
    texts = worse_measures(
        worse.reset_index(), SummaryLayout.of(SUMMARY), ReportSettings(), language="en"
    )
    assert len(texts) == 1
    assert "than the allocation key: 9.0 against 6.5" in texts[0]
    assert worse_measures(SUMMARY, SummaryLayout.of(SUMMARY), ReportSettings()) == []


def _rare_metrics() -> pd.DataFrame:
    """Two targets, two horizons: the model beats both baselines on children but not the best
    one (last value) on § 37 decisions, which are mostly zero."""
    rows = []
    for horizon in (1, 12):
        for model, wape, mae, pinball, deviance in (
            ("lightgbm", 0.05, 0.43, 0.30, 0.50),
            ("seasonal_naive", 0.10, 0.50, 0.40, 0.70),
            ("last_value", 0.09, 0.38, 0.35, 0.45),
        ):
            rows.append(("children_under3", horizon, model, wape, np.nan, np.nan, np.nan, 80))
            rows.append(("vedtak_37", horizon, model, wape, mae, pinball, deviance, 80))
    columns = ["target", "horizon", "model", "wape", "mae_mean", "scaled_pinball"]
    return pd.DataFrame(rows, columns=[*columns, "poisson_deviance", "n"])


def test_rare_counts_are_scored_by_measures_that_fit_them_against_the_best_baseline() -> None:
    quality = quality_rows(_rare_metrics()).set_index(["target", "measure"])
    assert set(quality.index) == {
        ("children_under3", "wape"),
        ("vedtak_37", "mae_mean"),
        ("vedtak_37", "scaled_pinball"),
        ("vedtak_37", "poisson_deviance"),
    }
    # the best baseline per measure: last value on the MAE and the deviance, and on the scaled
    # pinball the better of the two (last value's 0.35)
    assert quality.loc[("vedtak_37", "mae_mean"), "ratio"] == pytest.approx(0.43 / 0.38)
    assert quality.loc[("vedtak_37", "scaled_pinball"), "ratio"] == pytest.approx(0.30 / 0.35)
    assert quality.loc[("vedtak_37", "poisson_deviance"), "ratio"] == pytest.approx(0.50 / 0.45)
    sentence = not_better_sentence(quality.reset_index(), "nb")
    assert sentence.startswith("Modellen er ikke bedre enn den beste referansen")
    assert "vedtak om tilrettelegging (§ 37) (gjennomsnittlig absolutt feil" in sentence
    assert "forhold 1,13" in sentence and "barn under 3" not in sentence
    better = quality.reset_index()
    better = better[better["target"] == "children_under3"]
    assert not_better_sentence(better, "en") == (
        "The model beats the best baseline on every target and measure shown."
    )
