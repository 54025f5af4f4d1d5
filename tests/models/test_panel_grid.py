"""The panel grid laid from a feature table, against a plain loop over the table's rows: with
every row and key on the grid (a fit's own table, laid without masking) and with some left off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.forecast.grid import build_panel_grid


def _table_and_known(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three kindergartens over 20 months with a gap and a missing value, two features, and the
    known-future values of every kindergarten × month up to 4 months past the data."""
    rng = np.random.default_rng(seed)
    months = pd.period_range("2021-03", periods=20, freq="M")
    rows = [(k, m) for k in ("K1", "K10", "K9") for m in months]
    table = pd.DataFrame(rows, columns=["kindergarten_id", "month"])
    table = table[~((table["kindergarten_id"] == "K10") & table["month"].isin(months[4:7]))]
    table = table.reset_index(drop=True)
    table["children_under3"] = rng.integers(5, 40, len(table)).astype(float)
    table.loc[3, "children_under3"] = np.nan
    table["feature_a"] = rng.normal(size=len(table)).astype(np.float32)
    table["months_observed"] = np.arange(len(table), dtype=np.int32)
    ahead = pd.period_range(months[0], months[-1] + 4, freq="M")
    known = pd.DataFrame(
        [(k, m) for k in ("K1", "K10", "K9") for m in ahead], columns=["kindergarten_id", "month"]
    )
    known["known_calendar"] = rng.integers(1, 13, len(known)).astype(np.int8)
    known["known_share"] = rng.random(len(known)).astype(np.float32)
    return table, known


@pytest.mark.parametrize("leave_out", [False, True])
def test_the_grid_holds_each_row_where_a_plain_loop_puts_it(leave_out):
    table, known = _table_and_known()
    ids = ["K1", "K10"] if leave_out else ["K1", "K10", "K9"]
    last = table["month"].max() + (2 if leave_out else 4)  # known-future keys past it left off
    grid = build_panel_grid(
        table,
        known,
        point_in_time_names=["feature_a", "months_observed"],
        known_future_names=["known_calendar", "known_share"],
        targets=["children_under3"],
        kindergarten_ids=ids,
        last_month=last,
    )
    months = pd.period_range(table["month"].min(), last, freq="M")
    assert list(grid.kindergarten_ids) == ids and grid.months.equals(months)
    shape = (len(ids), len(months))
    present = np.zeros(shape, dtype=bool)
    pit = np.full((*shape, 2), np.nan, dtype=np.float32)
    target = np.full(shape, np.nan)
    for _, row in table.iterrows():
        if row["kindergarten_id"] not in ids:
            continue
        k, m = ids.index(row["kindergarten_id"]), months.get_loc(row["month"])
        present[k, m] = True
        pit[k, m] = [row["feature_a"], row["months_observed"]]
        target[k, m] = row["children_under3"]
    known_grid = np.full((*shape, 2), np.nan, dtype=np.float32)
    for _, row in known.iterrows():
        if row["kindergarten_id"] in ids and row["month"] <= last:
            k, m = ids.index(row["kindergarten_id"]), months.get_loc(row["month"])
            known_grid[k, m] = [row["known_calendar"], row["known_share"]]
    np.testing.assert_array_equal(grid.present, present)
    np.testing.assert_array_equal(grid.point_in_time, pit)
    np.testing.assert_array_equal(grid.targets["children_under3"], target)
    np.testing.assert_array_equal(grid.known_future, known_grid)
    assert grid.point_in_time.dtype == grid.known_future.dtype == np.float32
