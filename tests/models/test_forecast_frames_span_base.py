"""The § 31 label base of the horizon frames: the stock-flow projection survival · y(t) + arrivals ·
the kindergarten's level, both weights fitted on the same calendar span in past years, rounded —
against a plain loop over the contract's table, and point-in-time (SIMULATED capacity family)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.forecast.frames import (
    STOCK_FLOW_YEARS,
    STOCK_LEVEL_MIN_MONTHS,
    STOCK_LEVEL_MONTHS,
    horizon_frame,
)
from models.forecast.inputs import as_of, feature_inputs

TARGET = "vedtak_31"


@pytest.fixture(scope="module")
def district():
    from simulate.capacity import simulate_capacity

    return simulate_capacity(seed=4, n_kindergartens=30, start=pd.Period("2019-01", "M")).district


@pytest.fixture(scope="module")
def grid(district):
    return feature_inputs(district, [TARGET], months_ahead=0).grid


def plain_level(values: pd.Series, kid: str, month: pd.Period) -> float:
    """The kindergarten's mean stock over the months month − 59 … month it has data for."""
    window = [
        values[(kid, month - lag)]
        for lag in range(STOCK_LEVEL_MONTHS)
        if (kid, month - lag) in values.index
    ]
    return float(np.mean(window)) if len(window) >= STOCK_LEVEL_MIN_MONTHS else np.nan


def plain_projection(monthly: pd.DataFrame, kid: str, origin: pd.Period, h: int) -> float:
    """survival · y(origin) + arrivals · level(origin), the weights by least squares over the
    past years' same span (ended by the origin), every kindergarten with both ends and a level."""
    values = monthly.set_index(["kindergarten_id", "month"])[TARGET]
    rows, outcomes = [], []
    first = -(-h // 12)
    for j in range(first, first + STOCK_FLOW_YEARS):
        start, end = origin - 12 * j, origin + h - 12 * j
        for other in monthly["kindergarten_id"].unique():
            if (other, start) in values.index and (other, end) in values.index:
                level = plain_level(values, other, start)
                if not np.isnan(level):
                    rows.append((values[(other, start)], level))
                    outcomes.append(values[(other, end)])
    last = float(values[(kid, origin)])
    if len(rows) < 20:
        return last
    survival, arrivals = np.linalg.lstsq(np.array(rows), np.array(outcomes), rcond=None)[0]
    return max(0.0, round(survival * last + arrivals * plain_level(values, kid, origin)))


@pytest.mark.parametrize("h", [1, 4, 12])
def test_matches_a_plain_loop(district, grid, h):
    frame = horizon_frame(grid, TARGET, h, stacked=True)
    y = grid.targets[TARGET]
    k_all, t_all = frame.kindergarten_index, frame.origin_index
    pick = np.random.default_rng(h).choice(len(frame.label), size=25, replace=False)
    monthly = district.monthly
    for i in pick:
        kid, origin = grid.kindergarten_ids[k_all[i]], grid.months[t_all[i]]
        expected = plain_projection(monthly, kid, origin, h)
        assert frame.anchor[i] == pytest.approx(expected), (kid, origin)
    assert np.all(frame.anchor == np.round(frame.anchor)) and np.all(frame.anchor >= 0)
    if h == 12:  # a year on, kindergartens move towards their own level
        assert (frame.anchor != y[k_all, t_all]).mean() > 0.1, "the base moves somewhere"
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
