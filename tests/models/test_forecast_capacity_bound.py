"""Children under 3 held inside approved capacity (``ForecastPipeline(capacity_bound_targets=…)``,
:mod:`models.forecast.capacity_bound`): which kindergartens kept to their capacity, against a
plain loop and point-in-time; the bound on a row's quantiles against a plain loop; and the
pipeline's forecasts on the capacity family (SIMULATED district), with and without it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.forecast import ForecastPipeline
from models.forecast.capacity_bound import (
    CAPACITY_BOUND_TARGETS,
    bound_under3,
    kept_to_capacity,
)
from simulate.capacity import simulate_capacity

FAST = {"n_estimators": 30, "learning_rate": 0.15, "min_data_in_leaf": 20}


def grids(seed: int = 5, n: int = 40, months: int = 30):
    rng = np.random.default_rng(seed)
    under3 = rng.integers(0, 12, (n, months)).astype(np.float64)
    over3 = rng.integers(10, 30, (n, months)).astype(np.float64)
    capacity = np.repeat(rng.integers(34, 60, n)[:, None], months, axis=1).astype(np.float64)
    for values in (under3, over3, capacity):
        values[rng.random(values.shape) < 0.05] = np.nan
    under3[0] = np.nan  # a kindergarten without a month of data
    return under3, over3, capacity


def test_kept_to_capacity_is_a_plain_loop_over_the_months_up_to_the_origin():
    under3, over3, capacity = grids()
    for last in (0, 7, 29):
        got = kept_to_capacity(under3, over3, capacity, last)
        for k in range(len(under3)):
            known, over = 0, False
            for t in range(last + 1):
                u, o, c = under3[k, t], over3[k, t], capacity[k, t]
                if math.isnan(u) or math.isnan(o) or math.isnan(c):
                    continue
                known += 1
                over = over or 2 * u + o > c
            assert got[k] == (known > 0 and not over), (k, last)
    assert kept_to_capacity(under3, over3, capacity, 29).any()
    assert not kept_to_capacity(under3, over3, capacity, 29).all()


def test_kept_to_capacity_reads_no_month_after_the_origin():
    under3, over3, capacity = grids()
    last = 12
    before = kept_to_capacity(under3, over3, capacity, last)
    later = under3.copy()
    later[:, last + 1 :] = 1000.0  # every kindergarten far over capacity after the origin
    np.testing.assert_array_equal(kept_to_capacity(later, over3, capacity, last), before)


QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def expected_bound(levels, over3, capacity):
    """A plain loop over one row: the shift that brings the median inside the room the over-3
    median leaves, then each quantile above the median at most the room the over-3 p05 leaves
    (not below the median), all at least 0."""
    room = [max(math.floor((capacity - o) / 2), 0) for o in over3]
    excess = max(levels[3] - room[3], 0)
    out = [max(v - excess, 0.0) for v in levels]
    for column in (4, 5, 6):
        out[column] = max(min(out[column], room[0]), out[3])
    return np.asarray(out)


def test_the_bound_against_a_plain_loop_where_it_holds():
    rng = np.random.default_rng(2)
    n = 300
    levels = np.sort(rng.integers(0, 25, (n, 7)).astype(np.float64), axis=1)
    over3 = np.sort(rng.integers(5, 40, (n, 7)).astype(np.float64), axis=1)
    capacity = rng.integers(30, 60, n).astype(np.float64)
    capacity[:5] = np.nan
    holds = rng.random(n) < 0.7
    got = bound_under3(levels, over3, capacity, holds, QUANTILES)
    for i in range(n):
        expected = levels[i]
        if holds[i] and not math.isnan(capacity[i]):
            expected = expected_bound(levels[i], over3[i], capacity[i])
        np.testing.assert_array_equal(got[i], expected, err_msg=str(i))
    moved = (got != levels).any(axis=1)
    shifted = got[:, 3] != levels[:, 3]
    assert 0 < shifted.sum() < moved.sum() < n
    assert (np.diff(got, axis=1) >= 0).all()


def fitted_without_bound(district) -> ForecastPipeline:
    """Both children's counts fitted with the bound off (it acts at the forecast only)."""
    return ForecastPipeline(
        targets=["children_under3", "children_over3"],
        horizons=6,
        lgbm_params=FAST,
        calibration_origins=3,
        capacity_bound_targets=(),
    ).fit(district)


@pytest.fixture(scope="module")
def capacity_district():
    return simulate_capacity(seed=5, n_kindergartens=20, start=pd.Period("2019-01", "M")).district


def test_the_pipeline_holds_under3_inside_capacity_where_the_data_kept_to_it(capacity_district):
    assert CAPACITY_BOUND_TARGETS == ("children_under3",)
    district = capacity_district
    pipeline = fitted_without_bound(district)
    unbound = pipeline.predict(district, horizon=6)
    pipeline.capacity_bound_targets = None  # the default: applied at the forecast
    bound = pipeline.predict(district, horizon=6)
    key = ["kindergarten_id", "month"]
    wide = unbound.pivot_table(index=key, columns="target", values="p50")
    capacity = district.kindergartens.set_index("kindergarten_id")["capacity"]
    monthly = district.monthly.assign(
        places=2 * district.monthly["children_under3"] + district.monthly["children_over3"]
    )
    kept = (
        (monthly["places"] <= monthly["kindergarten_id"].map(capacity))
        .groupby(monthly["kindergarten_id"])
        .all()
    )
    # a plain loop: the bound each row's under-3 quantiles should meet
    columns = ["p05", "p10", "p25", "p50", "p75", "p90", "p95"]
    b = bound.set_index(["kindergarten_id", "month", "target"])
    u = unbound.set_index(["kindergarten_id", "month", "target"])
    pd.testing.assert_frame_equal(
        b.xs("children_over3", level="target"), u.xs("children_over3", level="target")
    )
    shifted = 0
    for kg, month in wide.index:
        before = u.loc[(kg, month, "children_under3"), columns].to_numpy(np.float64)
        after = b.loc[(kg, month, "children_under3"), columns].to_numpy(np.float64)
        over3 = u.loc[(kg, month, "children_over3"), columns].to_numpy(np.float64)
        if kept[kg]:
            np.testing.assert_array_equal(after, expected_bound(before, over3, capacity[kg]))
            shifted += after[3] < before[3]
            assert 2 * after[3] + over3[3] <= capacity[kg]
        else:
            np.testing.assert_array_equal(after, before)
    assert kept.any()
    assert shifted > 0


def test_a_lowered_under3_p50_has_the_capacity_bound_among_its_drivers(capacity_district):
    """Every under-3 p50 the bound lowered, and only those, has one driver "capacity_bound":
    its value the p50 shown, its contribution the change from the model's p50; each forecast's
    drivers ranked 1, 2, … by their contributions' size."""
    district = capacity_district
    pipeline = fitted_without_bound(district)
    unbound = pipeline.predict(district, horizon=6)
    assert not (
        pipeline.predict_contributions(district, horizon=6, top=3)["feature"] == "capacity_bound"
    ).any()
    pipeline.capacity_bound_targets = None
    bound = pipeline.predict(district, horizon=6)
    drivers = pipeline.predict_contributions(district, horizon=6, top=3)
    key = ["kindergarten_id", "target", "horizon"]
    p50 = bound.set_index(key)["p50"].rename("shown").to_frame()
    p50["model"] = unbound.set_index(key)["p50"]
    lowered = p50[p50["shown"] < p50["model"]]
    assert len(lowered) > 0
    rows = drivers[drivers["feature"] == "capacity_bound"].set_index(key)
    assert sorted(rows.index) == sorted(lowered.index)
    np.testing.assert_array_equal(rows["value"], lowered.loc[rows.index, "shown"])
    np.testing.assert_array_equal(
        rows["contribution"], (lowered["shown"] - lowered["model"]).loc[rows.index]
    )
    for _, group in drivers.groupby(key):
        assert list(group["rank"]) == list(range(1, len(group) + 1))
        sizes = group["contribution"].abs().to_numpy()
        assert (np.diff(sizes) <= 0).all()
    # the forecasts without a lowered p50 keep their top 3 model drivers, no more
    sizes = drivers.groupby(key).size()
    assert (sizes.drop(lowered.index) == 3).all()
    assert (sizes.loc[lowered.index] == 4).all()
