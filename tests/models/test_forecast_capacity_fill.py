"""The under-3s' capacity-fill features (models.forecast.frames.capacity_fill_columns, with
``cohort_features``) against a plain loop, point-in-time, and on the capacity family (SIMULATED)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.contract import KINDERGARTEN_ID
from features.age_cohorts import estimate_age_cohorts
from models.forecast.frames import UNDER3_FILL_FEATURES, design_feature_names, horizon_frame
from models.forecast.inputs import as_of, feature_inputs

TARGETS = ["children_under3", "children_over3"]


@pytest.fixture(scope="module")
def district():
    from simulate.capacity import simulate_capacity

    return simulate_capacity(seed=7, n_kindergartens=8, start=pd.Period("2020-01", "M")).district


@pytest.fixture(scope="module")
def inputs(district):
    return feature_inputs(district, TARGETS, months_ahead=0)


def plain_fill(under3, over3, calendar_month, capacity, t, h):
    """One row: the younger under-3 cohort at t plus half the places free after the next August
    when an August falls in (t, t + h], else the under-3s at t."""
    if not any(calendar_month[s] == 8 for s in range(t + 1, t + h + 1)):
        return under3[t]
    cohorts = estimate_age_cohorts(under3[None, :], over3[None, :], calendar_month)[0, t]
    younger, older, youngest, middle, _ = cohorts
    free = capacity - (2 * younger + older + youngest + middle)
    return younger + max(free, 0.0) / 2


@pytest.mark.parametrize("h", [1, 4, 12])
def test_matches_a_plain_loop(inputs, district, h):
    grid = inputs.grid
    frame = horizon_frame(grid, "children_under3", h, stacked=True, cohort_features=True)
    names = design_feature_names(grid, stacked=True, target="children_under3", cohort_features=True)
    assert set(UNDER3_FILL_FEATURES) <= set(names)
    fill = frame.features[:, names.index("target_capacity_fill")]
    versus = frame.features[:, names.index("target_capacity_fill_vs_base")]
    capacity = district.kindergartens.set_index(KINDERGARTEN_ID)["capacity"]
    calendar_month = np.asarray(grid.months.month)
    under3, over3 = grid.targets["children_under3"], grid.targets["children_over3"]
    rows = np.random.default_rng(h).choice(len(fill), 60, replace=False)
    for i in rows:
        k, t = frame.kindergarten_index[i], frame.origin_index[i]
        expected = plain_fill(
            under3[k], over3[k], calendar_month, capacity[grid.kindergarten_ids[k]], t, h
        )
        assert fill[i] == pytest.approx(expected, rel=1e-5), (k, t)
        assert versus[i] == pytest.approx(expected - frame.anchor[i], rel=1e-4, abs=1e-3)


def test_point_in_time(district):
    """A row at origin t has the same features whether the data end at t or go on."""
    origin = pd.Period("2024-05", "M")
    h = 6
    full = feature_inputs(district, TARGETS, months_ahead=0).grid
    cut = feature_inputs(as_of(district, origin), TARGETS, months_ahead=h).grid
    t = full.month_index(origin)
    a = horizon_frame(full, "children_under3", h, stacked=True, cohort_features=True)
    b = horizon_frame(
        cut, "children_under3", h, stacked=True, cohort_features=True, need_label=False
    )
    names = design_feature_names(full, stacked=True, target="children_under3", cohort_features=True)
    at_a = a.origin_index == t
    at_b = b.origin_index == cut.month_index(origin)
    assert at_a.sum() == at_b.sum() > 0
    for name in UNDER3_FILL_FEATURES:
        j = names.index(name)
        np.testing.assert_allclose(a.features[at_a, j], b.features[at_b, j], rtol=1e-6)


def test_tracks_the_under3s_after_august_on_the_capacity_family(inputs):
    """From May, the fill projection of September's under-3s is closer to them than May's count
    is: the intake does fill the freed places in this family."""
    grid = inputs.grid
    frame = horizon_frame(grid, "children_under3", 4, stacked=True, cohort_features=True)
    names = design_feature_names(grid, stacked=True, target="children_under3", cohort_features=True)
    may = np.asarray(grid.months.month)[frame.origin_index] == 5
    fill = frame.features[may, names.index("target_capacity_fill")]
    actual = frame.label[may] + frame.anchor[may]
    last = frame.features[may, names.index("target_last")]
    assert may.sum() > 20
    assert np.abs(actual - fill).mean() < np.abs(actual - last).mean()
