"""Each district's part of the data, forecasts and backtest history split in one pass equals
the part selected district by district (``district_subset``, ``isin`` on the forecasts,
``district_history``), on a simulated city of several districts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.contract import KINDERGARTEN_ID
from models.forecast.baselines import SeasonalNaive
from serving.district_plans import district_history, district_names, district_subset
from serving.district_split import split_by_district
from simulate import simulate_district


@pytest.fixture(scope="module")
def city():
    """SIMULATED: a small city, its forecasts and a backtest-like history of them."""
    district = simulate_district(
        "city", seed=6, n_kindergartens=30, start=pd.Period("2022-01", "M")
    ).district
    forecasts = SeasonalNaive().fit(district).predict(district, horizon=6)
    history = forecasts.assign(actual=np.arange(len(forecasts), dtype=float))
    # rows of a kindergarten the register does not know belong to no district
    stray = history.head(3).assign(**{KINDERGARTEN_ID: "not-in-the-register"})
    return district, forecasts, pd.concat([history, stray], ignore_index=True)


def test_the_split_equals_the_parts_selected_one_by_one(city) -> None:
    district, forecasts, history = city
    names = district_names(district)
    assert len(names) > 2
    parts = split_by_district(district, forecasts, history, [*names, "no such district"])
    for name in names:
        expected = district_subset(district, name)
        ids = set(expected.kindergartens[KINDERGARTEN_ID].astype(str))
        part = parts[name]
        pd.testing.assert_frame_equal(part.district.kindergartens, expected.kindergartens)
        pd.testing.assert_frame_equal(part.district.monthly, expected.monthly)
        assert part.district.population is not None and expected.population is not None
        pd.testing.assert_frame_equal(part.district.population, expected.population)
        pd.testing.assert_frame_equal(
            part.forecasts,
            forecasts[forecasts[KINDERGARTEN_ID].astype(str).isin(ids)].reset_index(drop=True),
        )
        expected_history = district_history(history, ids)
        assert part.pit_history is not None and expected_history is not None
        pd.testing.assert_frame_equal(part.pit_history, expected_history)
        assert part.district.simulated == expected.simulated
    empty = parts["no such district"]
    assert empty.district.kindergartens.empty and empty.forecasts.empty
    assert split_by_district(district, forecasts, None, names)[names[0]].pit_history is None
