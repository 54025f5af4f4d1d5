"""The § 31 label base of the horizon frames: y(t) moved towards y(t) times the district's change
over the same calendar span in past years, by a weight fitted on the data so far, rounded —
against a plain loop over the rows, and point-in-time (SIMULATED capacity family)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.district_span import district_span_ratio
from features.intake import expanding_blend_weight
from models.forecast.frames import SPAN_BASE_PRIOR_PAIRS, horizon_frame
from models.forecast.inputs import as_of, feature_inputs

TARGET = "vedtak_31"


@pytest.fixture(scope="module")
def district():
    from simulate.capacity import simulate_capacity

    return simulate_capacity(seed=4, n_kindergartens=30, start=pd.Period("2019-01", "M")).district


@pytest.fixture(scope="module")
def grid(district):
    return feature_inputs(district, [TARGET], months_ahead=0).grid


def plain_ratio(monthly: pd.DataFrame, origin: pd.Period, h: int) -> float:
    """The district's Σ y at the span's end ÷ Σ y at its start, over the two past years whose
    span ended by the origin, kindergartens with both ends, from the contract's table."""
    values = monthly.set_index(["kindergarten_id", "month"])[TARGET]
    start_sum = end_sum = 0.0
    first = -(-h // 12)
    for j in range(first, first + 2):
        start, end = origin - 12 * j, origin + h - 12 * j
        for kid in monthly["kindergarten_id"].unique():
            if (kid, start) in values.index and (kid, end) in values.index:
                start_sum += values[(kid, start)]
                end_sum += values[(kid, end)]
    return end_sum / start_sum if start_sum > 0 else np.nan


@pytest.mark.parametrize("h", [1, 4, 12])
def test_matches_a_plain_loop(district, grid, h):
    frame = horizon_frame(grid, TARGET, h, stacked=True)
    y = grid.targets[TARGET]
    k_all, t_all = frame.kindergarten_index, frame.origin_index
    # the weight: least squares of y(t+h) − y(t) on y(t)·(ratio − 1) over rows complete by t
    ratio = district_span_ratio(y, h)
    weight = expanding_blend_weight(
        y[k_all, t_all],
        y[k_all, t_all] * ratio[t_all],
        y[k_all, t_all + h],
        t_all + h,
        grid.n_months,
        prior_pairs=SPAN_BASE_PRIOR_PAIRS,
    )
    pick = np.random.default_rng(h).choice(len(frame.label), size=40, replace=False)
    monthly = district.monthly
    for i in pick:
        kid, origin = grid.kindergarten_ids[k_all[i]], grid.months[t_all[i]]
        last = float(
            monthly.loc[(monthly.kindergarten_id == kid) & (monthly.month == origin), TARGET].iloc[
                0
            ]
        )
        r = plain_ratio(monthly, origin, h)
        expected = last if np.isnan(r) else round(last + weight[t_all[i]] * (last * r - last))
        assert frame.anchor[i] == pytest.approx(expected), (kid, origin)
    assert np.all(frame.anchor == np.round(frame.anchor))
    if h == 4:  # a month on few stocks move by a whole decision; a year on the weight is 0
        assert (frame.anchor != y[k_all, t_all]).mean() > 0.02, "the base moves somewhere"
    np.testing.assert_allclose(frame.label + frame.anchor, y[k_all, t_all + h])


def test_rows_at_an_origin_do_not_see_data_after_it(district, grid):
    """The base of the rows made at origin t is the same whether the grid holds the months
    after t or not."""
    origin = district.monthly["month"].max() - 14
    known = feature_inputs(as_of(district, origin), [TARGET], months_ahead=12).grid
    for h in (2, 9):
        a, b = (
            horizon_frame(
                g,
                TARGET,
                h,
                stacked=True,
                origins=np.array([g.month_index(origin)]),
                need_label=g is grid,
            )
            for g in (grid, known)
        )
        rows = pd.Index(known.kindergarten_ids[b.kindergarten_index]).get_indexer(
            grid.kindergarten_ids[a.kindergarten_index]
        )
        assert (rows >= 0).all() and len(rows) > 5
        np.testing.assert_array_equal(a.anchor, b.anchor[rows])
        np.testing.assert_array_equal(a.features, b.features[rows])
