"""The helpers the notebooks call: coverage against hand-built intervals, WAPE and segments
against plain pandas, the quality summary's weighting, and SHAP summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.contract import District
from training.drivers import kindergarten_drivers, overall_importance
from training.evaluation import (
    coverage_table,
    error_by_segment,
    forecast_quality_summary,
    kindergarten_segments,
    wape,
)


def predictions(actual: list[float], centre: list[float], kindergartens: list[str]
                ) -> pd.DataFrame:
    """Intervals around ``centre``: p25/p75 ±1, p10/p90 ±3, p05/p95 ±5."""
    c = np.asarray(centre, dtype=float)
    return pd.DataFrame({
        "kindergarten_id": kindergartens, "target": "children_over3", "model": "lightgbm",
        "horizon": 1, "actual": actual, "p50": c, "p25": c - 1, "p75": c + 1, "p10": c - 3,
        "p90": c + 3, "p05": c - 5, "p95": c + 5,
    })


def test_coverage_counts_actuals_inside_each_interval() -> None:
    # misses of 0, 2, 4 and 6 children: inside 50 % once, 80 % twice, 90 % three times
    frame = predictions([10, 12, 14, 16], [10, 10, 10, 10], ["a", "b", "c", "d"])
    table = coverage_table(frame).set_index("nominal")
    assert table.loc[0.5, "observed"] == 0.25
    assert table.loc[0.8, "observed"] == 0.5
    assert table.loc[0.9, "observed"] == 0.75
    assert (table["n"] == 4).all()


def test_wape_is_total_absolute_error_over_total_actual() -> None:
    assert wape(pd.Series([10.0, 30.0]), pd.Series([12.0, 27.0])) == pytest.approx(5 / 40)
    assert np.isnan(wape(pd.Series([0.0]), pd.Series([1.0])))


def test_error_by_segment_matches_a_plain_groupby() -> None:
    frame = predictions([10, 20, 30, 40, 50, 60], [12, 18, 33, 40, 45, 66],
                        ["a", "b", "c", "d", "e", "f"])
    segments = pd.DataFrame({"kindergarten_id": list("abcdef"),
                             "size_band": ["small", "small", "medium", "medium", "large",
                                           "large"]})
    table = error_by_segment(frame, segments, segment_column="size_band", by=("target",))
    merged = frame.merge(segments, on="kindergarten_id")
    for band, group in merged.groupby("size_band"):
        expected = (group["actual"] - group["p50"]).abs().sum() / group["actual"].sum()
        assert table.set_index("size_band").at[band, "wape"] == pytest.approx(expected)


def test_segments_split_areas_and_sizes_in_thirds() -> None:
    kindergartens = pd.DataFrame({
        "kindergarten_id": [f"k{i}" for i in range(6)], "name": "x", "district": "d",
        "area": ["A", "A", "B", "C", "D", "E"], "capacity": [30, 40, 60, 80, 100, 120],
    })
    monthly = pd.DataFrame({
        "kindergarten_id": [f"k{i}" for i in range(6)], "month": pd.Period("2024-01", "M"),
        "low_income_share": [0.40, 0.30, 0.05, 0.10, 0.20, 0.25],
    })
    segments = kindergarten_segments(District(kindergartens, monthly)).set_index(
        "kindergarten_id")
    # area A (mean 0.35) and E (0.25) are the poorest third of five areas' ranks
    assert segments.at["k0", "low_income_tercile"] == "highest low-income share"
    assert segments.at["k2", "low_income_tercile"] == "lowest low-income share"
    assert segments["size_band"].value_counts().to_dict() == {"small": 2, "medium": 2,
                                                              "large": 2}
    assert segments.at["k0", "size_band"] == "small" and segments.at["k5", "size_band"] == "large"


def test_quality_summary_weights_horizons_by_rows() -> None:
    metrics = pd.DataFrame({
        "target": "vedtak_31", "horizon": [1, 2, 1, 2],
        "model": ["lightgbm", "lightgbm", "seasonal_naive", "seasonal_naive"],
        "wape": [0.1, 0.2, 0.3, 0.3], "coverage_80": [0.9, 0.7, 0.5, 0.5], "n": [10, 30, 10, 30],
    })
    row = forecast_quality_summary(metrics).iloc[0]
    assert row["model"] == "lightgbm"
    assert row["model_wape"] == pytest.approx(0.175)
    assert row["wape_ratio"] == pytest.approx(0.175 / 0.3)
    assert row["model_coverage_80"] == pytest.approx(0.75)


def contributions() -> pd.DataFrame:
    rows = []
    for kid, sign in (("a", 1.0), ("b", -1.0)):
        for horizon in (1, 2):
            for rank, (feature, size) in enumerate((("children", 3.0), ("august", 1.0),
                                                     ("sick", 0.5)), start=1):
                rows.append({"kindergarten_id": kid, "target": "children_over3",
                             "horizon": horizon, "rank": rank, "feature": feature,
                             "value": 1.0, "contribution": sign * size})
    return pd.DataFrame(rows)


def test_overall_importance_ranks_by_mean_absolute_contribution() -> None:
    table = overall_importance(contributions(), top=2)
    assert table["feature"].tolist() == ["children", "august"]
    assert table["mean_abs_contribution"].tolist() == [3.0, 1.0]
    assert table["share"].iloc[0] == pytest.approx(3.0 / 4.5)


def test_kindergarten_drivers_keep_the_sign() -> None:
    drivers = kindergarten_drivers(contributions(), "b", target="children_over3", horizon=2)
    assert drivers["feature"].tolist() == ["children", "august", "sick"]
    assert (drivers["contribution"] < 0).all()
    with pytest.raises(ValueError, match="no contributions for kindergarten 'zz'"):
        kindergarten_drivers(contributions(), "zz", target="children_over3", horizon=2)


def test_a_target_whose_median_is_its_base_has_shares_of_zero() -> None:
    base = pd.DataFrame({"kindergarten_id": ["a", "b"], "target": "vedtak_31", "horizon": 1,
                         "rank": 1, "feature": "target_base", "value": [2.0, 3.0],
                         "contribution": 0.0})
    table = overall_importance(pd.concat([contributions(), base]), top=2)
    row = table[table["target"] == "vedtak_31"].iloc[0]
    assert row["share"] == 0.0 and row["mean_abs_contribution"] == 0.0
    assert table.loc[table["target"] == "children_over3", "share"].iloc[0] == pytest.approx(
        3.0 / 4.5)
