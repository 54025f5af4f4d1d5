"""Promotion that looks at decisions (issue #19 item 3) and tuned plan defaults as an overlay on
the plan request: hand-made figures, no fitting."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from serving.plan_defaults import with_tuned_defaults
from serving.planning import PlanRequest
from training.decision_promotion import decide_on_decisions, plan_settings_of
from training.decisions import DecisionBacktest, DecisionPolicy, PlanSettings
from training.promotion import PromotionDecision

FORECASTS_BETTER = PromotionDecision(True, "challenger loss 0.10 beats the champion's 0.12")


def backtest(regret: float) -> DecisionBacktest:
    return DecisionBacktest(
        outcomes=pd.DataFrame(),
        regrets=pd.DataFrame(),
        summary=pd.DataFrame([{"origin": "overall", "regret": regret}]),
        origins=[pd.Period("2024-07", "M"), pd.Period("2025-07", "M")],
        settings=PlanSettings(),
        policy=DecisionPolicy(pools={"staff": 8.0}),
    )


def test_a_challenger_that_plans_worse_is_not_promoted_and_says_why() -> None:
    decision = decide_on_decisions(FORECASTS_BETTER, backtest(0.41), backtest(0.28))
    assert not decision.promote
    assert decision.reason.startswith("forecasts better but plans worse")
    assert "0.410 against the champion's 0.280" in decision.reason
    assert "2024-07, 2025-07" in decision.reason
    assert FORECASTS_BETTER.reason in decision.reason


@pytest.mark.parametrize("ours", [0.28, 0.2])
def test_a_challenger_that_plans_as_well_or_better_keeps_its_promotion(ours: float) -> None:
    decision = decide_on_decisions(FORECASTS_BETTER, backtest(ours), backtest(0.28))
    assert decision.promote
    assert "plans at least as well" in decision.reason


def test_a_tolerance_lets_a_slightly_worse_plan_through() -> None:
    assert decide_on_decisions(
        FORECASTS_BETTER, backtest(0.30), backtest(0.28), tolerance=0.05
    ).promote


def test_undefined_regret_leaves_the_forecast_decision_and_says_so() -> None:
    decision = decide_on_decisions(FORECASTS_BETTER, backtest(float("nan")), backtest(0.3))
    assert decision.promote and "undecided" in decision.reason


def test_a_forecast_decision_not_to_promote_is_not_reopened() -> None:
    kept = PromotionDecision(False, "challenger loss 0.14 does not beat 0.12")
    assert decide_on_decisions(kept, backtest(0.1), backtest(0.3)) is kept


def test_tuned_defaults_fill_only_the_fields_the_planner_left_at_their_defaults() -> None:
    tuned = PlanSettings(risk=0.7, tail_weight=0.2, scenario_spread=1.3, step_fte=(0.5, 1, 0.5))
    champion = SimpleNamespace(plan_defaults={"settings": tuned.as_dict(), "regret": 0.2})
    assert plan_settings_of(champion) == tuned
    request = with_tuned_defaults(PlanRequest(pools={"staff": 8.0}, risk=0.95), champion)
    assert request.risk == 0.95  # the planner's own choice wins
    assert request.tail_weight == 0.2
    assert request.scenario_spread == 1.3
    # steps are what the district can hire: tuned ones are shown, never applied
    assert dict(request.step_fte) == dict(PlanRequest(pools={}).step_fte)
    untuned = SimpleNamespace(plan_defaults=None)
    assert plan_settings_of(untuned) == PlanSettings()
    plain = PlanRequest(pools={"staff": 8.0})
    assert with_tuned_defaults(plain, untuned) is plain
