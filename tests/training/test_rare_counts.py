"""Mostly-zero counts (staff leavers, § 37 decisions) in forms a planner uses — the expected
number over the period and the probability of at least one — scored on the expected number,
and every quality figure compared with the best baseline for its target and horizon. Worked by
hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from training.evaluation import forecast_quality_summary, rare_count_outlook
from training.metrics import (
    forecast_metrics,
    headline_metric,
    mean_from_quantiles,
    poisson_deviance,
    summary_table,
)

#: Quantiles p05 … p95 of one month's leavers: 0 up to the median, 1 from p90 (a Poisson
#: with mean about 0.2 looks like this).
RARE_MONTH = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]


def test_the_expected_number_is_the_mean_of_the_quantile_function() -> None:
    # linear between levels, flat beyond: 0 up to 0.75, rising to 1 at 0.90 (area 0.15/2),
    # 1 from 0.90 to 0.95 (0.05) and the top 5 % (0.05): 0.075 + 0.05 + 0.05 = 0.175
    assert mean_from_quantiles(np.array([RARE_MONTH]))[0] == pytest.approx(0.175)
    # a symmetric forecast's mean is its median
    assert mean_from_quantiles(np.array([[8, 9, 10, 11, 12, 13, 14]]))[0] == pytest.approx(11)


def test_expected_number_over_the_period_and_probability_of_at_least_one() -> None:
    forecasts = pd.DataFrame(
        [
            {
                "kindergarten_id": "k1",
                "target": "staff_leavers",
                "horizon": h,
                **dict(
                    zip(["p05", "p10", "p25", "p50", "p75", "p90", "p95"], RARE_MONTH, strict=True)
                ),
            }
            for h in range(1, 5)
        ]
    )
    (row,) = rare_count_outlook(forecasts).to_dict("records")
    # four months of 0.175: 0.7 expected leavers; P(at least one) = 1 − e^−0.7 ≈ 0.503
    assert row["months"] == 4
    assert row["expected_number"] == pytest.approx(0.7)
    assert row["p_at_least_one"] == pytest.approx(1 - math.exp(-0.7))
    assert row["p_at_least_one"] == pytest.approx(0.5034, abs=1e-4)


def test_poisson_deviance_by_hand() -> None:
    # y = 0, μ = 0.5: 2·(0 − (0 − 0.5)) = 1; y = 2, μ = 1: 2·(2·ln 2 − 1) ≈ 0.7726
    assert poisson_deviance(np.array([0.0]), np.array([0.5])) == pytest.approx(1.0)
    assert poisson_deviance(np.array([2.0]), np.array([1.0])) == pytest.approx(
        2 * (2 * math.log(2) - 1)
    )


def _predictions() -> pd.DataFrame:
    """Two horizons of staff leavers; the model forecasts the rare month, seasonal naive says 0
    everywhere, last value says 1 everywhere. Actuals: one leaver in four rows."""
    rows = []
    zero = [0.0] * 7
    one = [1.0] * 7
    for horizon in (1, 2):
        for i, actual in enumerate([0, 0, 0, 1]):
            for model, quantiles in (
                ("lightgbm", RARE_MONTH),
                ("seasonal_naive", zero),
                ("last_value", one),
            ):
                rows.append(
                    {
                        "kindergarten_id": f"k{i}",
                        "target": "staff_leavers",
                        "horizon": horizon,
                        "model": model,
                        "actual": float(actual),
                        "mase_scale": 0.5,
                        **dict(
                            zip(
                                ["p05", "p10", "p25", "p50", "p75", "p90", "p95"],
                                quantiles,
                                strict=True,
                            )
                        ),
                    }
                )
    return pd.DataFrame(rows)


def test_rare_counts_are_scored_on_the_expected_number_not_the_median() -> None:
    metrics = forecast_metrics(_predictions())
    ours = metrics[(metrics["model"] == "lightgbm") & (metrics["horizon"] == 1)].iloc[0]
    # the median is 0 in every row: WAPE 1 says nothing
    assert ours["wape"] == pytest.approx(1.0)
    # μ = 0.175: |0 − 0.175| three times and |1 − 0.175| once → (0.525 + 0.825) / 4 = 0.3375
    assert ours["mae_mean"] == pytest.approx(0.3375)
    assert ours["scaled_pinball"] == pytest.approx(ours["pinball"] / 0.5)
    assert headline_metric("staff_leavers") == "mae_mean"
    assert headline_metric("children_over3") == "wape"
    summary = summary_table(metrics).set_index(["target", "model"])
    row = summary.loc[("staff_leavers", "lightgbm")]
    assert row["headline"] == "mae_mean"
    # best baseline per horizon on the expected number: seasonal naive (0.25) beats last value
    # (0.75), so × best baseline = 0.3375 / 0.25
    assert row["mae_mean_vs_best_baseline"] == pytest.approx(0.3375 / 0.25)


def test_quality_summary_compares_with_the_best_baseline_at_each_horizon() -> None:
    metrics = pd.DataFrame(
        {
            "target": "vedtak_31",
            "horizon": [1, 2, 1, 2, 1, 2],
            "model": ["lightgbm"] * 2 + ["seasonal_naive"] * 2 + ["last_value"] * 2,
            "wape": [0.20, 0.30, 0.25, 0.40, 0.30, 0.35],
            "coverage_80": [0.8, 0.8, 0.6, 0.5, 0.7, 0.9],
            "n": [10, 10, 10, 10, 10, 10],
        }
    )
    row = forecast_quality_summary(metrics).iloc[0]
    # best baseline: seasonal naive at horizon 1 (0.25), last value at horizon 2 (0.35)
    assert row["baseline_value"] == pytest.approx(0.30)
    assert row["ratio"] == pytest.approx(0.25 / 0.30)
    assert row["baseline_coverage_80"] == pytest.approx((0.6 + 0.9) / 2)
    assert row["measure"] == "WAPE of the median"
