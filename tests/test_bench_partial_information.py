"""The forecast benchmark's partial-information lines (benchmarks/partial_information.py): the
under-3 median corrected with one latent quantity of the SIMULATED process, on a small district
and on hand-made rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.partial_information import (
    INFORMATION_SETS,
    TARGET,
    informed_wape,
    latent_regressors,
    partial_information_wape,
)
from data.contract import KINDERGARTEN_ID, MONTH
from simulate import Simulation, simulate_district

START, END = pd.Period("2020-01", freq="M"), pd.Period("2024-12", freq="M")
ORIGINS = [pd.Period("2023-04", freq="M"), pd.Period("2023-10", freq="M")]


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate_district("district", seed=4, n_kindergartens=20, start=START, end=END)


def _seasonal_naive_rows(sim: Simulation) -> pd.DataFrame:
    """Seasonal-naive forecasts of children under 3 (the same month a year before), 1 … 12
    months after each origin, with actuals: a forecaster that repeats last year's crossing and
    refill."""
    monthly = sim.district.monthly[[KINDERGARTEN_ID, MONTH, TARGET]]
    year_before = monthly.assign(**{MONTH: monthly[MONTH] + 12}).rename(columns={TARGET: "p50"})
    parts = []
    for origin in ORIGINS:
        ahead = monthly[(monthly[MONTH] > origin) & (monthly[MONTH] <= origin + 12)]
        both = ahead.rename(columns={TARGET: "actual"}).merge(
            year_before, on=[KINDERGARTEN_ID, MONTH]
        )
        parts.append(both.assign(origin=origin, target=TARGET))
    return pd.concat(parts, ignore_index=True)


def test_informed_wape_removes_an_error_the_information_explains() -> None:
    x = np.array([4.0, -2.0, 6.0, 0.0, -8.0])
    rows = pd.DataFrame({"p50": [10.0, 12.0, 8.0, 9.0, 20.0], "x": x})
    rows["actual"] = rows["p50"] + 0.5 * x
    assert informed_wape(rows, ["x"]) == 0.0
    plain = np.abs(0.5 * x).sum() / rows["actual"].sum()
    assert informed_wape(rows, []) == pytest.approx(plain)


def test_crossing_regressor_against_a_plain_loop(sim: Simulation) -> None:
    rows = _seasonal_naive_rows(sim)
    got = latent_regressors(rows, sim.truth["monthly"], sim.district.monthly)
    truth = sim.truth["monthly"].set_index([KINDERGARTEN_ID, MONTH])
    under3 = sim.district.monthly.set_index([KINDERGARTEN_ID, MONTH])[TARGET]
    after, crossing, count = [], [], []
    for row in rows.itertuples():
        next_august = pd.Period(f"{row.origin.year + (row.origin.month >= 8)}-08", freq="M")
        after.append(row.month >= next_august)
        crossing.append(truth.loc[(row.kindergarten_id, row.origin), "crossing_next_august"])
        count.append(under3.get((row.kindergarten_id, row.origin), np.nan))
    after_arr, crossing_arr, count_arr = np.array(after), np.array(crossing), np.array(count)
    known = after_arr & ~np.isnan(count_arr)  # an origin month missing from the data: no count
    share = crossing_arr[known].sum() / count_arr[known].sum()
    expected = np.where(known, crossing_arr - share * count_arr, 0.0)
    np.testing.assert_allclose(got["crossing"].to_numpy(), expected)
    target = np.array(
        [
            truth.loc[(r.kindergarten_id, r.month), "target_under3"] - r.p50
            for r in rows.itertuples()
        ]
    )
    np.testing.assert_allclose(got["target"].to_numpy(), target)
    # an August lies within 12 months of either origin, so both sides of it are scored
    assert 0 < after_arr.mean() < 1


def test_knowing_this_year_s_crossing_and_refill_target_helps_seasonal_naive(
    sim: Simulation,
) -> None:
    wape = partial_information_wape(sim, _seasonal_naive_rows(sim))
    assert list(wape.index) == list(INFORMATION_SETS)
    # last year's August drop and refill are repeated; told how many really cross this year and
    # where the group really refills to, the corrected forecast misses less, most with both
    assert wape["true crossing"] < wape["none"]
    assert wape["true under-3 target"] < 0.95 * wape["none"]
    assert wape["both"] < 0.93 * wape["none"]
