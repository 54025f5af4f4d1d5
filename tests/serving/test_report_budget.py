"""Under a budget every baseline spends what the plan may spend: the proportional key and the
plan's trade-off re-solves get the same pools, budget, cost per FTE and steps, none spends
more than the budget, each one's spend is shown, and the headline never shows a negative gain
(where the plan does worse, a sentence says so and why)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from report_fixtures import last_value_forecasts, small_district

from models.allocation.comparison import COMPARED, KEY, PLAN
from serving.planning import DEFAULT_COST_PER_FTE_NOK, PlanRequest, build_plan
from serving.report.render import render_report_html
from serving.report.service import benefit_report_for_plan

POOLS = {"staff": 8.0, "pedagogue": 4.0, "resource_pedagogue": 3.0}
#: well under what the pools cost for a year (about 9.0 MNOK), so the budget binds
BUDGET_NOK = 4_000_000.0


@pytest.fixture(scope="module")
def budgeted():
    district = small_district(seed=5, n_kindergartens=12)
    forecasts = last_value_forecasts(district)
    request = PlanRequest(pools=POOLS, budget_nok=BUDGET_NOK, n_scenarios=80)
    plan = build_plan(district, forecasts, request, model_version="test")
    report = benefit_report_for_plan(
        district, forecasts, request, plan, model_version="test", with_figures=False
    )
    return plan, report


def test_the_pools_cost_more_than_the_budget() -> None:
    full = sum(POOLS[r] * DEFAULT_COST_PER_FTE_NOK[r] for r in POOLS)
    assert full > 2 * BUDGET_NOK  # the key must shrink its pools to fit


def test_every_allocation_spends_at_most_the_budget(budgeted) -> None:
    plan, _ = budgeted
    spend = plan.compared.spend_nok
    assert set(spend) == set(COMPARED)
    for name in COMPARED:
        assert spend[name] <= BUDGET_NOK + 1e-6, f"{name} spends {spend[name]:,.0f} NOK"
    # the key is not left idle either: it spends most of what the budget allows
    assert spend[KEY] > 0.8 * BUDGET_NOK
    summary = plan.summary.set_index("allocation")
    assert (summary["cost_nok"] <= BUDGET_NOK + 1e-6).all()


def test_the_key_keeps_the_pools_proportions_and_steps(budgeted) -> None:
    plan, _ = budgeted
    key = plan.compared.changes[KEY]
    per_resource = key.sum(axis=0)
    pools = np.array([POOLS[r] for r in plan.compared.resources])
    costs = np.array([DEFAULT_COST_PER_FTE_NOK[r] for r in plan.compared.resources])
    share = BUDGET_NOK / float((pools * costs).sum())
    steps = np.array([plan.header["step_fte"][r] for r in plan.compared.resources])
    # every pool keeps at least its share in whole steps, never more than itself, and what
    # rounding left is spent down to less than the dearest step
    assert (per_resource <= pools + 1e-9).all()
    assert (per_resource >= np.floor(share * pools / steps + 1e-9) * steps - 1e-9).all()
    spend = float((per_resource * costs).sum())
    assert BUDGET_NOK - (steps * costs).max() <= spend <= BUDGET_NOK + 1e-6
    assert per_resource[1] == pytest.approx(round(per_resource[1]))  # whole pedagogue positions


def test_no_headline_gain_is_negative(budgeted) -> None:
    _, report = budgeted
    for card in report.benefit_cards:
        assert card.value >= 0, f"{card.key} shows a negative gain {card.value}"
        assert not card.text.startswith(("-", "−")), card.text
        if card.verdict == "worse":
            assert "Planen gir mer" in card.why and "enn fordelingsnøkkelen" in card.why
            assert card.why.count(".") >= 2, "a worse figure must say why"
    html = render_report_html(report)
    values = re.findall(r'class="value" data-value="([^"]+)"', html)
    assert values and all(float(v) >= 0 for v in values)
    assert "samme budsjettet" in html and "Planen bruker" in html


def test_the_spend_of_each_allocation_is_shown(budgeted) -> None:
    plan, report = budgeted
    shown = report.spend.frame.set_index("allocation")["cost_nok"]
    expected = pd.Series(plan.compared.spend_nok)
    for name in COMPARED:
        assert shown[name] == pytest.approx(expected[name], abs=0.01)
    assert shown[PLAN] <= BUDGET_NOK


def test_the_key_fits_a_budget_in_whole_steps_on_a_hand_worked_case() -> None:
    from models.allocation.comparison import _pools_within_budget

    # pools 8 staff (0.1 steps, 100 NOK) and 4 pedagogues (whole, 200 NOK) cost 1,600 NOK;
    # a 1,000 NOK budget keeps 62.5 %: 5.0 staff and 2.5 → 2 pedagogues (900 NOK), then the
    # 100 NOK left buys one more 0.1 staff step at a time, up to 1,000 NOK
    pools = _pools_within_budget(
        np.array([8.0, 4.0]), np.array([0.1, 1.0]), np.array([100.0, 200.0]), 1_000.0
    )
    assert pools[1] == 2.0
    assert pools[0] == pytest.approx(6.0)
    assert float((pools * [100.0, 200.0]).sum()) == pytest.approx(1_000.0)
