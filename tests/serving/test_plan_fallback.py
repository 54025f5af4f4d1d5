"""Every kindergarten is planned: a recently opened and a gapped kindergarten get the documented
fallback forecast (peers' rates scaled by size and capacity, wide intervals), flagged on their
lines, and no kindergarten leaves the plan silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from planning_fixtures import forecasts_around, split_district

from data.contract import KINDERGARTEN_ID, MONTH, District
from models.forecast.fallback import (
    MIN_HISTORY_MONTHS,
    fallback_forecasts,
    fallback_reasons,
)
from serving.planning import PlanRequest, build_plan

ORIGIN = pd.Period("2023-12", "M")
POOLS = {"staff": 3.0, "pedagogue": 2.0, "resource_pedagogue": 1.5}
TARGETS = ("children_under3", "children_over3", "vedtak_31", "vedtak_37", "sick_leave_rate")


@pytest.fixture(scope="module")
def district_with_new_and_gapped():
    """(district, model-like forecasts, new id, gapped id): the new kindergarten has data from
    2023-07 only (opened then); the gapped one has no rows after 2023-09, so a model forecasting
    from rows at the origin has no forecast for it."""
    district, hidden = split_district(seed=1, n_kindergartens=10)
    ids = sorted(district.kindergartens[KINDERGARTEN_ID].astype(str))
    new, gapped = ids[2], ids[5]
    monthly = district.monthly
    month = monthly[MONTH]
    kid = monthly[KINDERGARTEN_ID].astype(str)
    keep = ~((kid == new) & (month < pd.Period("2023-07", "M")))
    keep &= ~((kid == gapped) & (month > pd.Period("2023-09", "M")))
    kinds = district.kindergartens.copy()
    kinds.loc[kinds[KINDERGARTEN_ID].astype(str) == new, "opened"] = pd.Period("2023-07", "M")
    changed = District(
        kindergartens=kinds,
        monthly=monthly[keep].reset_index(drop=True),
        population=district.population,
        simulated=True,
        source=district.source,
    )
    forecasts = forecasts_around(hidden, ORIGIN)
    forecasts = forecasts[forecasts[KINDERGARTEN_ID].astype(str) != gapped]
    return changed, forecasts.reset_index(drop=True), new, gapped


def test_reasons_name_the_recently_opened_and_the_gapped(district_with_new_and_gapped):
    district, forecasts, new, gapped = district_with_new_and_gapped
    reasons = fallback_reasons(district, forecasts, ORIGIN, TARGETS)
    assert set(reasons) == {new, gapped}
    assert reasons[new] == "recently opened: 6 months of data"
    assert reasons[gapped] == "gapped: no data for 2023-12 (last month with data 2023-09)"
    assert MIN_HISTORY_MONTHS > 6


def test_every_kindergarten_is_planned_with_the_fallback_flagged(district_with_new_and_gapped):
    district, forecasts, new, gapped = district_with_new_and_gapped
    plan = build_plan(district, forecasts, PlanRequest(pools=POOLS, n_scenarios=60))
    planned = set(plan.lines[KINDERGARTEN_ID])
    assert planned == set(district.kindergartens[KINDERGARTEN_ID].astype(str))
    flags = plan.lines.groupby(KINDERGARTEN_ID)["forecast"].first()
    assert flags[new].startswith("fallback: recently opened")
    assert flags[gapped].startswith("fallback: gapped")
    assert (flags.drop([new, gapped]) == "model").all()
    warnings = plan.header["warnings"]
    assert not any("left out" in w for w in warnings), warnings
    assert any(w.startswith(f"fallback forecast for {gapped}") for w in warnings)
    assert set(plan.header["fallback_forecasts"]) == {new, gapped}


def test_fallback_scales_peers_rates_by_capacity_with_wide_intervals(
    district_with_new_and_gapped,
):
    district, forecasts, _, gapped = district_with_new_and_gapped
    kinds = district.kindergartens
    reasons = {gapped: "gapped"}
    base = fallback_forecasts(district, [gapped], ORIGIN, 12, ("children_over3",), reasons)
    # without a value of its own (size factor 1) the forecast is the peers' rate × capacity:
    # twice the places, twice the children
    blank = district.monthly.copy()
    blank.loc[blank[KINDERGARTEN_ID].astype(str) == gapped, "children_over3"] = np.nan
    is_gapped = kinds[KINDERGARTEN_ID].astype(str) == gapped
    for factor in (1, 2):
        bigger = kinds.assign(capacity=np.where(is_gapped, factor, 1) * kinds["capacity"])
        made = fallback_forecasts(
            District(bigger, blank, district.population, True, district.source),
            [gapped],
            ORIGIN,
            12,
            ("children_over3",),
            reasons,
        )
        if factor == 1:
            single = made["p50"].to_numpy()
    np.testing.assert_allclose(made["p50"].to_numpy(), 2 * single)
    # with its own value the size factor holds the kindergarten's own level
    last = district.monthly[district.monthly[KINDERGARTEN_ID].astype(str) == gapped].iloc[-1]
    assert abs(base["p50"].iloc[0] - last["children_over3"]) < abs(
        single[0] - last["children_over3"]
    ) or np.isclose(base["p50"].iloc[0], single[0])
    # intervals: a normal of 30 % of the median either side, much wider than the model's
    width = (base["p90"] - base["p10"]) / base["p50"]
    model = forecasts[forecasts["target"] == "children_over3"]
    model_width = ((model["p90"] - model["p10"]) / model["p50"].clip(lower=1)).median()
    assert width.median() > 2 * model_width
    # the August shift of the peers is kept: their rate in the calendar month, not one level
    assert base["p50"].nunique() > 1
