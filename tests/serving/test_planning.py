"""The planning service on a small simulated district: the plan format, pins, bad input, the
nearest plan when infeasible, determinism, and the comparison with the proportional key."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from planning_fixtures import forecasts_around, split_district

from data.contract import PLAN_COLUMNS, RESOURCES, SIMULATED_LABEL
from data.errors import UserInputError
from serving.planning import Pin, PlanRequest, PlanResult, build_plan

POOLS = {"staff": 3.0, "pedagogue": 2.0, "resource_pedagogue": 1.5}
ORIGIN = pd.Period("2023-12", "M")


@pytest.fixture(scope="module")
def district_and_forecasts():
    district, hidden = split_district(seed=1, n_kindergartens=8)
    return district, forecasts_around(hidden, ORIGIN)


@pytest.fixture(scope="module")
def plan(district_and_forecasts) -> PlanResult:
    district, forecasts = district_and_forecasts
    return build_plan(district, forecasts, PlanRequest(pools=POOLS), model_version="test-1")


def plan_with(district_and_forecasts, **kwargs) -> PlanResult:
    district, forecasts = district_and_forecasts
    request = PlanRequest(**{"pools": POOLS, **kwargs})
    return build_plan(district, forecasts, request)


def test_lines_follow_the_plan_contract(plan: PlanResult, district_and_forecasts) -> None:
    district, _ = district_and_forecasts
    lines = plan.lines
    assert tuple(lines.columns[: len(PLAN_COLUMNS)]) == PLAN_COLUMNS
    assert len(lines) == 8 * 3
    assert set(lines["resource"]) == set(RESOURCES)
    assert (lines["period"] == "2024-01–2024-12").all()
    assert (lines["plan_id"] == plan.plan_id).all()
    assert np.allclose(lines["suggested_fte"], lines["current_fte"] + lines["change_fte"])
    last = district.monthly[district.monthly["month"] == district.last_month]
    staff_now = last.set_index("kindergarten_id")["staff_fte"]
    staff_lines = lines[lines["resource"] == "staff"].set_index("kindergarten_id")
    assert staff_lines["current_fte"].to_dict() == staff_now.to_dict()
    assert (lines["required_fte_p90"] >= lines["required_fte_p50"]).all()
    assert lines["shortfall_risk"].between(0, 1).all()
    assert lines["reason"].str.len().gt(20).all()
    pedagogue = lines[lines["resource"] == "pedagogue"]
    assert pedagogue["drivers"].str.contains(r"needs \d+ positions \(exact \d+\.\d\d").all()


def test_decision_counts_below_5_are_suppressed_in_the_words(plan: PlanResult) -> None:
    texts = plan.lines.loc[plan.lines["resource"] == "resource_pedagogue", "drivers"]
    counts = texts.str.extractall(r"(<5|\d+)/(<5|\d+) (?:now|expected)").stack()
    assert len(counts) > 0 and "<5" in set(counts)
    assert all(c == "<5" or int(c) >= 5 for c in counts)


def test_pools_are_spent_in_steps_and_never_exceeded(plan: PlanResult) -> None:
    used = plan.lines.groupby("resource")["change_fte"].sum()
    for resource, pool in POOLS.items():
        assert used[resource] <= pool + 1e-9
    pedagogue = plan.lines.loc[plan.lines["resource"] == "pedagogue", "change_fte"]
    assert (pedagogue == pedagogue.round()).all()  # whole positions


def test_header_records_inputs_solver_and_simulated_label(plan: PlanResult) -> None:
    header = plan.header
    assert header["solver_status"] == "Optimal"
    assert header["mip_gap"] is not None and header["mip_gap"] <= 1e-3
    assert header["pools_fte"] == POOLS
    assert header["model_version"] == "test-1"
    assert header["period"] == "2024-01–2024-12"
    assert plan.simulated and header["simulated"] and header["label"] == SIMULATED_LABEL
    assert header["norm_settings"] == {
        "hours_per_week_31": 5.0,
        "hours_per_week_37": 3.0,
        "hours_per_week_per_fte": 37.5,
    }


def test_allocation_lowers_breach_probability_where_fte_is_added(plan: PlanResult) -> None:
    added = plan.lines[plan.lines["change_fte"] > 0]
    assert len(added) > 0
    assert (added["breach_prob_after"] <= added["breach_prob_before"]).all()
    assert (added["breach_prob_after"] < added["breach_prob_before"]).any()


def test_plan_beats_the_proportional_key_and_no_pool(plan: PlanResult) -> None:
    summary = plan.summary.set_index("allocation")
    unmet = summary[[f"unmet_{r}_fte_months" for r in RESOURCES]].sum(axis=1)
    assert summary.at["plan", "weighted_unmet"] < summary.at["proportional", "weighted_unmet"]
    assert unmet["plan"] < unmet["proportional"] < unmet["none"]
    # the key spreads the same pools
    for r in RESOURCES:
        assert summary.at["proportional", f"extra_{r}_fte"] == pytest.approx(POOLS[r])


def test_same_input_gives_byte_identical_lines(district_and_forecasts, plan: PlanResult) -> None:
    district, forecasts = district_and_forecasts
    again = build_plan(district, forecasts, PlanRequest(pools=POOLS), model_version="test-1")
    assert again.plan_id == plan.plan_id
    assert again.lines.to_csv(index=False) == plan.lines.to_csv(index=False)


def test_pins_are_respected_exactly(district_and_forecasts, plan: PlanResult) -> None:
    lines = plan.lines.set_index(["kindergarten_id", "resource"])["change_fte"]
    favourite = lines.xs("staff", level="resource").idxmax()
    others = [k for k in lines.index.get_level_values(0).unique() if k != favourite]
    pins = (
        Pin(favourite, "staff", "ban", comment="no room for more staff"),
        Pin(others[0], "staff", "fix", 1.5),  # whole 0.5-FTE steps
        Pin(others[1], "resource_pedagogue", "floor", 0.5),
    )
    pinned = plan_with(district_and_forecasts, pins=pins).lines.set_index(
        ["kindergarten_id", "resource"]
    )
    assert pinned.at[(favourite, "staff"), "change_fte"] == 0.0
    assert pinned.at[(favourite, "staff"), "binding_constraint"] == "pin (ban)"
    assert pinned.at[(others[0], "staff"), "change_fte"] == pytest.approx(1.5)
    assert pinned.at[(others[1], "resource_pedagogue"), "change_fte"] >= 0.5 - 1e-9


def test_more_pool_never_increases_expected_unmet_need(district_and_forecasts) -> None:
    weighted = [
        plan_with(district_and_forecasts, pools={**POOLS, "staff": s})
        .summary.set_index("allocation")
        .at["plan", "weighted_unmet"]
        for s in (0.0, 1.0, 2.5, 5.0)
    ]
    assert all(b <= a + 1e-6 for a, b in itertools.pairwise(weighted))
    assert weighted[-1] < weighted[0]


def test_higher_equity_weight_moves_fte_toward_poorer_areas(district_and_forecasts) -> None:
    district, _ = district_and_forecasts
    last = district.monthly[district.monthly["month"] == district.last_month]
    poverty = last.set_index("kindergarten_id")[["low_income_share", "minority_language_share"]]
    poverty = poverty.sum(axis=1)

    def poverty_of_added_fte(equity_weight: float) -> float:
        lines = plan_with(district_and_forecasts, equity_weight=equity_weight).lines
        added = lines.groupby("kindergarten_id")["change_fte"].sum()
        return float((added * poverty.reindex(added.index)).sum() / added.sum())

    assert poverty_of_added_fte(5.0) > poverty_of_added_fte(0.0)


def test_bad_request_lists_every_problem_at_once(district_and_forecasts) -> None:
    district, forecasts = district_and_forecasts
    request = PlanRequest(
        pools={"staff": -1.0, "teachers": 2.0, "pedagogue": 1.0},
        pins=(
            Pin("B01-K999", "staff", "fix", 1.0),
            Pin("B01-K001", "pedagogue", "fix", 1.0),
            Pin("B01-K002", "pedagogue", "floor", 1.0),
            Pin("B01-K003", "staff", "fix", 0.25),
        ),
    )
    with pytest.raises(UserInputError, match=r"^5 problem\(s\) with the plan request$") as e:
        build_plan(district, forecasts, request)
    assert [str(p) for p in e.value.problems] == [
        "error: plan request, column 'pools.staff': a pool cannot be negative (found -1.0)",
        "error: plan request, column 'pools': unknown resource; use staff, pedagogue or "
        "resource_pedagogue (found 'teachers')",
        "error: plan request, row 1, column 'pins.kindergarten_id': pin on a kindergarten not "
        "in the plan (found 'B01-K999')",
        "error: plan request, row 4, column 'pins.value_fte': not a whole number of 0.5-FTE "
        "steps (found 0.25)",
        "error: plan request, column 'pools.pedagogue': pins need 2 FTE of pedagogue but the "
        "pool holds 1: fix B01-K001 pedagogue 1 FTE, floor B01-K002 pedagogue 1 FTE "
        "(found 1.0)",
    ]


def test_pins_over_the_budget_are_named(district_and_forecasts) -> None:
    district, forecasts = district_and_forecasts
    request = PlanRequest(
        pools={},
        budget_nok=1_000_000,
        months=12,
        pins=(Pin("B01-K001", "staff", "fix", 1.0), Pin("B01-K002", "pedagogue", "floor", 1.0)),
    )
    with pytest.raises(UserInputError) as e:
        build_plan(district, forecasts, request)
    assert [str(p) for p in e.value.problems] == [
        "error: plan request, column 'budget_nok': pins cost 1,430,000 NOK but the budget is "
        "1,000,000 NOK: fix B01-K001 staff 1 FTE, floor B01-K002 pedagogue 1 FTE "
        "(found 1000000)",
    ]


def test_budget_only_plan_stays_within_the_budget(district_and_forecasts) -> None:
    result = plan_with(district_and_forecasts, pools={}, budget_nok=2_000_000, months=6)
    lines = result.lines
    cost_per_period = {"staff": 325_000, "pedagogue": 390_000, "resource_pedagogue": 400_000}
    spent = sum(
        lines.loc[lines["resource"] == r, "change_fte"].sum() * c
        for r, c in cost_per_period.items()
    )
    assert 0 < spent <= 2_000_000
    assert result.header["period"] == "2024-01–2024-06"


def test_infeasible_request_returns_the_nearest_plan_with_the_violation_stated(
    district_and_forecasts,
) -> None:
    pins = (Pin("B01-K001", "staff", "fix", -1.0), Pin("B01-K002", "staff", "fix", -0.5))
    result = plan_with(district_and_forecasts, max_moves=1, pins=pins)
    assert result.header["violations"] == {"max moves": pytest.approx(1.0)}
    assert (
        "the request is infeasible: max moves exceeded by 1 (the nearest plan is shown)"
        in (result.header["warnings"])
    )
    lines = result.lines.set_index(["kindergarten_id", "resource"])
    assert lines.at[("B01-K001", "staff"), "change_fte"] == pytest.approx(-1.0)
    assert lines.at[("B01-K002", "staff"), "change_fte"] == pytest.approx(-0.5)


def test_a_time_limit_returns_a_plan_and_says_so(district_and_forecasts) -> None:
    result = plan_with(district_and_forecasts, time_limit_s=1e-4)
    if result.header["time_limited"]:  # a fast machine may still prove optimality in time
        assert any("time limit" in w for w in result.header["warnings"])
    else:
        assert result.header["solver_status"] == "Optimal"
    used = result.lines.groupby("resource")["change_fte"].sum()
    assert (used <= pd.Series(POOLS).reindex(used.index) + 1e-9).all()


def test_default_start_is_the_month_after_the_data(
    plan: PlanResult, district_and_forecasts
) -> None:
    district, _ = district_and_forecasts
    assert plan.header["period"].startswith(str(district.last_month + 1))
    assert np.isfinite(plan.lines["marginal_value_fte"]).all()
