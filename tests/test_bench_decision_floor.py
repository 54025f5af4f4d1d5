"""The decision-floor benchmark's pieces (benchmarks/decision_floor.py), on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.decision_floor import METHODS, as_forecasts, regrets, with_realised
from data.contract import FORECAST_COLUMNS, KINDERGARTEN_ID, MONTH, RESOURCES
from models.needs import NEED_TARGETS

ORIGIN = pd.Period("2024-07", "M")


def _paths(n_paths: int = 101, n_kindergartens: int = 2, n_months: int = 3):
    """Paths whose values are 0, 1, …, n_paths − 1 in every cell, times (kindergarten + 1)."""
    base = np.arange(n_paths, dtype=float)[:, None, None]
    scale = (np.arange(n_kindergartens) + 1.0)[None, :, None]
    return {t: base * scale * np.ones((1, 1, n_months)) for t in NEED_TARGETS}


def test_process_forecasts_are_the_paths_quantiles_in_the_contract_format() -> None:
    made = as_forecasts(_paths(), ("a", "b"), ORIGIN)
    assert list(made.columns) == list(FORECAST_COLUMNS)
    assert len(made) == len(NEED_TARGETS) * 2 * 3
    assert made[MONTH].min() == ORIGIN + 1 and made["horizon"].max() == 3
    b = made[(made[KINDERGARTEN_ID] == "b") & (made["target"] == "vedtak_31")]
    # 101 paths 0 … 100, doubled for the second kindergarten: the p10 is 20, the median 100
    np.testing.assert_allclose(b["p10"], 20.0)
    np.testing.assert_allclose(b["p50"], 100.0)


def test_realised_values_replace_every_quantile_of_the_chosen_targets_only() -> None:
    forecasts = as_forecasts(_paths(), ("a", "b"), ORIGIN)
    realised = pd.DataFrame(
        {
            KINDERGARTEN_ID: ["a", "a"],
            MONTH: [ORIGIN + 1, ORIGIN + 2],
            "vedtak_31": [7, 9],
            "vedtak_37": [1, 2],
            "children_over3": [40, 41],
        }
    )
    out = with_realised(forecasts, realised, ("vedtak_31",))
    row = out[(out[KINDERGARTEN_ID] == "a") & (out["target"] == "vedtak_31")].sort_values(MONTH)
    quantiles = [c for c in FORECAST_COLUMNS if c.startswith("p")]
    np.testing.assert_allclose(row[quantiles].iloc[0], 7.0)
    np.testing.assert_allclose(row[quantiles].iloc[1], 9.0)
    # a month without a realised row keeps the forecast; other targets are untouched
    np.testing.assert_allclose(row["p50"].iloc[2], 50.0)
    untouched = out["target"] != "vedtak_31"
    pd.testing.assert_frame_equal(out[untouched], forecasts[untouched])


def test_regret_is_pooled_over_the_origins_per_resource() -> None:
    rows = []
    for origin, key, oracle, plan in (("2023-07", 10.0, 4.0, 7.0), ("2024-07", 6.0, 2.0, 2.0)):
        for method, value in (("key", key), ("oracle", oracle), *((m, plan) for m in METHODS)):
            rows.append(
                {
                    "seed": 1,
                    "origin": origin,
                    "method": method,
                    **{r: value for r in RESOURCES},
                    "total": 3 * value,
                }
            )
    table = regrets(pd.DataFrame(rows)).set_index("method")
    # pooled: (9 − 6) / (16 − 6), not the mean of the origins' 0.5 and 0
    assert table.loc["plan", "staff"] == pytest.approx(0.3)
    assert table.loc["plan", "total"] == pytest.approx(0.3)
