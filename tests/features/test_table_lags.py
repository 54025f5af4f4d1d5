"""Calendar lags and rolling windows on panels with arbitrary gaps, against a plain dictionary
lookup (property-based: hypothesis draws the gap patterns, the values and the NaNs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.lags import CalendarGrid, lag_features

FIRST = pd.Period("2020-11", freq="M")


@st.composite
def panels(draw: st.DrawFn) -> pd.DataFrame:
    """A few series over up to 30 months, each keeping a random subset of months (gaps), with
    values that may be NaN; rows in random order."""
    rows = []
    for series in range(draw(st.integers(1, 4))):
        months = draw(st.sets(st.integers(0, 29), min_size=1, max_size=30))
        for offset in months:
            value = draw(st.one_of(st.none(), st.integers(0, 40)))
            rows.append((f"s{series}", FIRST + offset, np.nan if value is None else float(value)))
    frame = pd.DataFrame(rows, columns=["id", "month", "y"])
    order = draw(st.permutations(range(len(frame))))
    return frame.iloc[list(order)].reset_index(drop=True)


@settings(max_examples=60, deadline=None)
@given(panels(), st.integers(1, 13), st.integers(1, 13))
def test_lags_and_rolling_means_match_a_dictionary_lookup(frame, lag, window):
    features = lag_features(
        frame, ["y"], lags=[lag], windows=[window], id_col="id", month_col="month"
    )
    value_at = {(s, m): v for s, m, v in zip(frame["id"], frame["month"], frame["y"], strict=True)}
    for i, (series, month) in enumerate(zip(frame["id"], frame["month"], strict=True)):
        expected_lag = value_at.get((series, month - lag), np.nan)
        np.testing.assert_equal(features[f"y_lag{lag}"].iloc[i], np.float32(expected_lag))
        seen = [
            value_at[(series, month - j)] for j in range(window) if (series, month - j) in value_at
        ]
        seen = [v for v in seen if not np.isnan(v)]
        expected_mean = np.mean(seen) if seen else np.nan
        np.testing.assert_allclose(features[f"y_mean_{window}m"].iloc[i], expected_mean, rtol=1e-6)


def test_duplicate_keys_are_refused():
    frame = pd.DataFrame({"id": ["a", "a"], "month": [FIRST, FIRST], "y": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"duplicate \(id, month\) rows"):
        CalendarGrid.from_frame(frame, id_col="id", month_col="month")


def test_lag_of_zero_months_is_refused():
    frame = pd.DataFrame({"id": ["a"], "month": [FIRST], "y": [1.0]})
    grid = CalendarGrid.from_frame(frame, id_col="id", month_col="month")
    with pytest.raises(ValueError, match="lag must be at least 1 month, got 0"):
        grid.lag(grid.dense(frame["y"].to_numpy()), 0)
