"""Champion or challenger: the backtest loss (WAPE + scaled pinball over children and § 31) and
the decision, on hand-made backtests where the better model is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.contract import QUANTILE_COLUMNS
from models.forecast.inputs import targets_fitted_on_other_features
from training.promotion import backtest_score, decide_promotion

QUANTILE_OFFSETS = np.array([-1.645, -1.2816, -0.6745, 0.0, 0.6745, 1.2816, 1.645])


def backtest(
    error: float,
    spread: float = 2.0,
    *,
    seed: int = 0,
    targets=("children_under3", "children_over3", "vedtak_31"),
) -> pd.DataFrame:
    """Predictions for 10 kindergartens × 4 origins × 3 horizons whose median misses the actual
    by about ``error`` children, with a normal-shaped interval of sd ``spread``."""
    rng = np.random.default_rng(seed)
    rows = []
    for target in targets:
        for k in range(10):
            for o, origin in enumerate(pd.period_range("2023-01", periods=4, freq="3M")):
                for h in (1, 2, 3):
                    actual = 40.0 if target != "vedtak_31" else 6.0
                    median = actual + error * rng.choice([-1, 1])
                    rows.append(
                        {
                            "kindergarten_id": f"K{k}",
                            "origin": origin,
                            "month": origin + h,
                            "horizon": h,
                            "target": target,
                            **dict(
                                zip(
                                    QUANTILE_COLUMNS,
                                    median + spread * QUANTILE_OFFSETS,
                                    strict=True,
                                )
                            ),
                            "actual": actual + o * 0,
                            "model": "lightgbm",
                        }
                    )
    return pd.DataFrame(rows)


def test_wape_is_absolute_error_over_volume_per_target_then_averaged():
    frame = backtest(error=2.0)
    score = backtest_score(frame)
    # children: 2 / 40 = 0.05 on both; § 31: 2 / 6
    assert score.wape == pytest.approx((0.05 + 0.05 + 2 / 6) / 3)
    assert score.n_rows == 3 * 10 * 4 * 3
    assert set(score.per_target) == {"children_under3", "children_over3", "vedtak_31"}


def test_baseline_rows_and_other_targets_do_not_count():
    frame = backtest(error=2.0)
    noise = backtest(error=30.0, targets=("sick_leave_rate", "children_under3")).assign(
        model="seasonal_naive"
    )
    noise.loc[noise["target"] == "sick_leave_rate", "model"] = "lightgbm"
    assert backtest_score(pd.concat([frame, noise])).loss == pytest.approx(
        backtest_score(frame).loss
    )


def test_a_too_wide_interval_costs_pinball_even_with_the_same_median():
    sharp, vague = backtest(error=1.0, spread=1.0), backtest(error=1.0, spread=8.0)
    assert backtest_score(sharp).wape == pytest.approx(backtest_score(vague).wape)
    assert backtest_score(sharp).scaled_pinball < backtest_score(vague).scaled_pinball


def test_the_first_model_becomes_champion():
    decision = decide_promotion(
        backtest(error=3.0), None, challenger_version="1", champion_version=None
    )
    assert decision.promote
    assert decision.reason.startswith("version 1 is the first model: it becomes champion")


def test_a_worse_challenger_is_not_promoted_and_says_why():
    decision = decide_promotion(
        backtest(error=4.0), backtest(error=1.0), challenger_version="2", champion_version="1"
    )
    assert not decision.promote
    assert "version 2 stays challenger: champion version 1 is as good or better" in decision.reason
    assert decision.champion is not None and decision.challenger is not None
    assert decision.champion.loss < decision.challenger.loss


def test_a_better_challenger_is_promoted_with_both_losses_in_the_reason():
    decision = decide_promotion(
        backtest(error=1.0), backtest(error=4.0), challenger_version="3", champion_version="2"
    )
    assert decision.promote
    assert "version 3 beats champion version 2 on the same backtest" in decision.reason
    assert f"{decision.challenger.loss:.4f}" in decision.reason
    assert f"{decision.champion.loss:.4f}" in decision.reason


def test_a_tie_keeps_the_champion_and_a_margin_can_be_required():
    same = backtest(error=2.0)
    assert not decide_promotion(same, same, challenger_version="2", champion_version="1").promote
    slightly_better = backtest(error=1.9)
    assert decide_promotion(
        slightly_better, same, challenger_version="2", champion_version="1"
    ).promote
    assert not decide_promotion(
        slightly_better, same, challenger_version="2", champion_version="1", min_improvement=0.10
    ).promote


def test_only_rows_both_models_forecast_are_compared():
    champion = backtest(error=1.0)
    # the challenger also forecast an extra, badly missed origin the champion never saw
    extra = backtest(error=20.0)
    extra["origin"] = extra["origin"] + 24
    extra["month"] = extra["month"] + 24
    challenger = pd.concat([backtest(error=0.5), extra], ignore_index=True)
    decision = decide_promotion(challenger, champion, challenger_version="2", champion_version="1")
    assert decision.promote
    assert decision.challenger.n_rows == decision.champion.n_rows == len(champion)


def test_backtests_without_common_rows_cannot_be_compared():
    champion = backtest(error=1.0)
    challenger = champion.assign(kindergarten_id=champion["kindergarten_id"] + "-other")
    decision = decide_promotion(challenger, champion, challenger_version="2", champion_version="1")
    assert not decision.promote
    assert "cannot be compared" in decision.reason


def test_a_champion_fitted_on_features_the_engine_no_longer_builds_is_replaced():
    """The under-3 projections were renamed when their definition changed: a champion fitted on
    the old names cannot forecast with this engine (it is refused), so a challenger replaces it
    even with a worse backtest, and the reason names the target."""
    champion_design = {
        "children_under3": ["capacity", "target_intake_projection_12m"],
        "vedtak_31": ["capacity", "target_last"],
    }
    challenger_design = {
        "children_under3": ["capacity", "target_intake_projection_12m_full_group"],
        "vedtak_31": ["capacity", "target_last"],
        "sick_leave_rate": ["capacity"],
    }
    unusable = targets_fitted_on_other_features(champion_design, challenger_design)
    assert unusable == ["children_under3"]
    assert targets_fitted_on_other_features(challenger_design, challenger_design) == []

    decision = decide_promotion(
        backtest(error=4.0),
        None,
        challenger_version="2",
        champion_version="1",
        champion_unusable=unusable,
    )
    assert decision.promote
    assert decision.reason.startswith("version 2 replaces champion version 1")
    assert "children_under3" in decision.reason
