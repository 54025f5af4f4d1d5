"""bench_forecast's coverage of the rows right after the age shift and of short histories, on a
hand-made district and forecasts."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.bench_forecast import coverage_subsets
from data.contract import KINDERGARTEN_ID, MONTH, District


def test_coverage_after_the_shift_and_of_short_histories() -> None:
    # "old" has data from 2020, "new" opened 2024-01: at the origin 2024-06 it has 6 months
    months_old = pd.period_range("2020-01", "2024-12", freq="M")
    months_new = pd.period_range("2024-01", "2024-12", freq="M")
    monthly = pd.DataFrame(
        {
            KINDERGARTEN_ID: ["old"] * len(months_old) + ["new"] * len(months_new),
            MONTH: list(months_old) + list(months_new),
        }
    )
    district = District(
        kindergartens=pd.DataFrame({KINDERGARTEN_ID: ["old", "new"]}), monthly=monthly
    )
    origin = pd.Period("2024-06", freq="M")
    rows = []
    for kid in ("old", "new"):
        for h in range(1, 7):  # July … December
            month = origin + h
            # inside [p10, p90] except in August and September for "old"
            actual = 30.0 if kid == "old" and month.month in (8, 9) else 10.0
            for model in ("ours", "autoets"):
                rows.append(
                    {
                        KINDERGARTEN_ID: kid,
                        "origin": origin,
                        "month": month,
                        "target": "children_under3",
                        "model": model,
                        "p10": 8.0,
                        "p50": 10.0,
                        "p90": 12.0,
                        "actual": actual,
                    }
                )
    out = coverage_subsets(district, pd.DataFrame(rows)).set_index("subset")
    # after the shift: August-October of both, 6 rows, 2 outside
    assert out.loc["after the shift", "n"] == 6
    assert out.loc["after the shift", "coverage"] == pytest.approx(4 / 6)
    # short history: the new kindergarten's 6 rows, all inside
    assert out.loc["short history", "n"] == 6
    assert out.loc["short history", "coverage"] == pytest.approx(1.0)
