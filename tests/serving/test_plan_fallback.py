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
    with_fallback,
)
from serving.plan_warnings import say_warning
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


def _without_target(district: District, target: str, how: str) -> District:
    """The district with ``target`` blank in every row (``how='empty'``: an empty column, as a
    file with the header and no values reads) or with no such column (``'absent'``)."""
    monthly = district.monthly.copy()
    if how == "empty":
        monthly[target] = np.nan
    else:
        monthly = monthly.drop(columns=[target])
    return District(district.kindergartens, monthly, district.population, True, district.source)


def test_a_target_the_model_lacks_is_filled_for_every_kindergarten(
    district_with_new_and_gapped,
):
    """A model trained without § 37 (the data have it) plus a recently opened and a gapped
    kindergarten: the plan is made, every kindergarten's § 37 is the fallback's, the model's
    other forecasts are kept, and the warnings say so."""
    district, forecasts, new, gapped = district_with_new_and_gapped
    model = forecasts[forecasts["target"] != "vedtak_37"].reset_index(drop=True)
    plan = build_plan(district, model, PlanRequest(pools=POOLS, n_scenarios=60))
    ids = set(district.kindergartens[KINDERGARTEN_ID].astype(str))
    assert set(plan.lines[KINDERGARTEN_ID]) == ids
    warnings = plan.header["warnings"]
    assert any(w.startswith("fallback forecast of vedtak_37 (the model has no") for w in warnings)
    assert not any("no forecast of vedtak_37" in w for w in warnings), warnings
    # only the recently opened and the gapped are fallback kindergartens
    assert set(plan.header["fallback_forecasts"]) == {new, gapped}
    needs = plan.scenarios
    assert needs is not None
    assert needs.vedtak_37.sum() > 0  # § 37 is planned for, not taken as 0
    # where the model forecast children, its forecast is what the plan drew from
    kid = sorted(ids - {new, gapped})[0]
    k = needs.kindergarten_ids.index(kid)
    own = model[(model[KINDERGARTEN_ID] == kid) & (model["target"] == "children_over3")]
    np.testing.assert_allclose(needs.median["children_over3"][k], own["p50"].to_numpy())
    # the fallback's § 37 of a kindergarten with a full history: wide intervals around a median
    # at the kindergarten's own level (its size factor), per kindergarten, not one district rate
    made = with_fallback(district, model, origin=ORIGIN, horizon=12, targets=TARGETS).forecasts
    v37 = made[made["target"] == "vedtak_37"]
    assert set(v37[KINDERGARTEN_ID]) == ids
    assert (v37.groupby(KINDERGARTEN_ID).size() == 12).all()
    # a standard deviation of at least one decision (the lower side is clipped at zero)
    assert ((v37["p95"] - v37["p50"]) >= 1.645 * 0.99).all()
    assert v37.groupby(KINDERGARTEN_ID)["p50"].mean().nunique() > 1


@pytest.mark.parametrize("how", ["empty", "absent"])
def test_a_target_missing_from_the_data_leaves_the_recently_opened_the_only_fallback(
    district_with_new_and_gapped, how
):
    """Data without § 37 values (an empty column or none) and a model trained without it: the
    recently opened and the gapped kindergarten get the fallback (from full-history peers: their
    children are not zero), no other kindergarten does, and § 37 is 0 with a warning."""
    district, forecasts, new, gapped = district_with_new_and_gapped
    district = _without_target(district, "vedtak_37", how)
    model = forecasts[forecasts["target"] != "vedtak_37"].reset_index(drop=True)
    plan = build_plan(district, model, PlanRequest(pools=POOLS, n_scenarios=60))
    assert set(plan.header["fallback_forecasts"]) == {new, gapped}
    assert "no forecast of vedtak_37: taken as 0 in every scenario" in plan.header["warnings"]
    needs = plan.scenarios
    assert needs is not None
    assert needs.vedtak_37.sum() == 0
    k = needs.kindergarten_ids.index(new)
    assert needs.median["children_over3"][k].min() > 0


@pytest.mark.parametrize("how", ["lacks", "absent"])
def test_every_plan_warning_is_said_in_bokmal_with_words_not_codes(
    district_with_new_and_gapped, how
):
    """The warnings a real plan writes (fallback kindergartens, a target the model lacks or the
    data lack — reasons written in models/) are each matched by a template of
    serving.plan_warnings and said in bokmål on pages and exports: no English sentence, no code
    left; in English too the codes become words."""
    district, forecasts, new, _gapped = district_with_new_and_gapped
    if how == "absent":
        district = _without_target(district, "vedtak_37", how)
    model = forecasts[forecasts["target"] != "vedtak_37"].reset_index(drop=True)
    plan = build_plan(district, model, PlanRequest(pools=POOLS, n_scenarios=60))
    warnings = plan.header["warnings"]
    assert len(warnings) >= 3, warnings
    for warning in warnings:
        said = say_warning(warning, "nb")
        assert said != warning, warning
        assert "vedtak_37" not in said and "fallback" not in said and "gapped" not in said, said
        assert "vedtak_37" not in say_warning(warning, "en")
    nb = [say_warning(w, "nb") for w in warnings]
    assert any(s.startswith(f"reserveprognose for {new} (nylig åpnet: ") for s in nb), nb
    assert any("hull i dataene: ingen data for 2023-12" in s for s in nb), nb
    assert any("vedtak om tilrettelegging (§ 37)" in s for s in nb), nb


def test_one_frame_for_many_equals_each_kindergarten_on_its_own(district_with_new_and_gapped):
    """The fallback's rows are assembled in one frame for all kindergartens: each one's rows
    equal those of a call for it alone (same peers), in order, with the contract's dtypes."""
    district, _, new, gapped = district_with_new_and_gapped
    ids = sorted(district.kindergartens[KINDERGARTEN_ID].astype(str))
    reasons = {new: "recently opened: 6 months of data", gapped: "gapped"}
    together = fallback_forecasts(district, ids, ORIGIN, 6, TARGETS, reasons, not_peers=[new])
    alone = [
        fallback_forecasts(district, [k], ORIGIN, 6, TARGETS, reasons, not_peers=[new]) for k in ids
    ]
    pd.testing.assert_frame_equal(together, pd.concat(alone, ignore_index=True))
    assert len(together) == len(ids) * 6 * len(set(together["target"]))
    assert together[MONTH].dtype == pd.PeriodDtype("M")
    rows = together[together[KINDERGARTEN_ID] == new]
    assert list(rows["horizon"].iloc[:6]) == [1, 2, 3, 4, 5, 6]
