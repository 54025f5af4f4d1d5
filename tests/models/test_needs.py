"""Need scenarios: marginals follow the forecasts, dependence persists over months and across
kindergartens, backtest blocks carry real error patterns, and the norms are applied per scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kstest, norm

from data.contract import QUANTILE_COLUMNS, QUANTILES
from data.errors import UserInputError
from models.needs import NEED_TARGETS, pit_scores, simulate_needs
from models.needs.quantiles import extend_tails, pit, quantile_function
from models.norms import pedagogue_positions, special_needs_fte, staffing_need_fte

ORIGIN = pd.Period("2024-12", "M")
MONTHS = pd.period_range("2025-01", periods=12, freq="M")
CENTRE = {
    "children_under3": 14.0,
    "children_over3": 30.0,
    "vedtak_31": 4.0,
    "vedtak_37": 2.0,
    "sick_leave_rate": 0.1,
}
SPREAD = {
    "children_under3": 2.0,
    "children_over3": 3.0,
    "vedtak_31": 1.5,
    "vedtak_37": 1.0,
    "sick_leave_rate": 0.02,
}


def normal_forecasts(
    kindergartens=("a", "b", "c"), origin=ORIGIN, months=MONTHS, targets=NEED_TARGETS
) -> pd.DataFrame:
    rows = []
    for kid in kindergartens:
        for month in months:
            for target in targets:
                q = np.maximum(CENTRE[target] + SPREAD[target] * norm.ppf(QUANTILES), 0)
                rows.append(
                    {
                        "kindergarten_id": kid,
                        "origin": str(origin),
                        "month": str(month),
                        "horizon": (month - origin).n,
                        "target": target,
                        **dict(zip(QUANTILE_COLUMNS, q, strict=True)),
                    }
                )
    return pd.DataFrame(rows)


def draw(forecasts=None, n=400, seed=0, pit_history=None, ids=("a", "b", "c")):
    return simulate_needs(
        normal_forecasts(ids) if forecasts is None else forecasts,
        kindergarten_ids=ids,
        months=MONTHS,
        current_fte=np.tile([9.0, 4.0, 0.5], (len(ids), 1)),
        pit_history=pit_history,
        n_scenarios=n,
        seed=seed,
    )


def test_quantile_function_and_pit_are_inverse_for_a_continuous_forecast() -> None:
    knots = extend_tails(10 + 2 * norm.ppf(QUANTILES)[None])
    u = np.array([0.02, 0.05, 0.17, 0.5, 0.8, 0.95, 0.98])
    values = quantile_function(knots[0], u)
    assert values[3] == pytest.approx(10.0)
    assert pit(np.repeat(knots, len(u), axis=0), values) == pytest.approx(u)
    # tails reach p01/p99 of the normal the quantiles came from
    assert knots[0, 0] == pytest.approx(10 + 2 * norm.ppf(0.01), rel=1e-6)


def test_pit_of_a_calibrated_forecast_is_uniform() -> None:
    rng = np.random.default_rng(3)
    actual = rng.normal(10, 2, 5000)
    knots = np.repeat(extend_tails(10 + 2 * norm.ppf(QUANTILES)[None]), len(actual), axis=0)
    inside = (actual > knots[0, 0]) & (actual < knots[0, -1])
    u = pit(knots, actual)[inside]
    assert kstest((u - 0.01) / 0.98, "uniform").pvalue > 0.01


def test_scenario_marginals_follow_the_forecast_quantiles() -> None:
    needs = draw(n=3000)
    u3 = needs.children_under3[:, 0, 5]
    for level in (0.1, 0.5, 0.9):
        expected = CENTRE["children_under3"] + SPREAD["children_under3"] * norm.ppf(level)
        assert np.quantile(u3, level) == pytest.approx(expected, abs=1.0)  # counts are rounded
    sick = needs.sick_leave_rate[:, 1, 2]
    assert np.median(sick) == pytest.approx(0.1, abs=0.003)


def test_counts_are_whole_and_non_negative_and_shares_in_0_1() -> None:
    needs = draw(n=500)
    for counts in (needs.children_under3, needs.vedtak_31, needs.vedtak_37):
        assert (counts >= 0).all() and (counts == np.round(counts)).all()
    assert ((needs.sick_leave_rate >= 0) & (needs.sick_leave_rate <= 1)).all()
    assert needs.children_under3.shape == (500, 3, 12)


def test_errors_persist_over_months_and_link_kindergartens_without_history() -> None:
    needs = draw(n=4000)
    o3 = needs.children_over3
    same_kg_two_months_apart = np.corrcoef(o3[:, 0, 2], o3[:, 0, 4])[0, 1]
    other_kg_same_month = np.corrcoef(o3[:, 0, 2], o3[:, 1, 2])[0, 1]
    assert same_kg_two_months_apart > 0.7
    assert 0.05 < other_kg_same_month < 0.4


def test_same_seed_same_scenarios_other_seed_other_scenarios() -> None:
    a, b, c = draw(seed=5), draw(seed=5), draw(seed=6)
    assert a.children_over3.tobytes() == b.children_over3.tobytes()
    assert a.children_over3.tobytes() != c.children_over3.tobytes()


def test_norms_are_applied_to_every_scenario() -> None:
    needs = draw(n=50)
    assert needs.staff_need_fte == pytest.approx(
        staffing_need_fte(needs.children_under3, needs.children_over3)
    )
    assert (
        needs.pedagogue_need
        == pedagogue_positions(needs.children_under3, needs.children_over3).positions
    ).all()
    assert needs.special_needs_fte == pytest.approx(
        special_needs_fte(needs.vedtak_31, needs.vedtak_37)
    )
    effective = needs.effective_supply(needs.current_fte[:, 0])
    assert effective == pytest.approx(9.0 * (1 - needs.sick_leave_rate))


def backtest_with_persistent_errors(n_origins: int = 10) -> pd.DataFrame:
    """Backtests where, at each origin, every kindergarten and month is off the same way: the
    whole district is short (or over) together for the whole year."""
    rng = np.random.default_rng(11)
    frames = []
    for i in range(n_origins):
        origin = ORIGIN - 24 + i
        months = pd.period_range(origin + 1, periods=12, freq="M")
        f = normal_forecasts(origin=origin, months=months)
        shock = rng.normal()
        f["actual"] = [CENTRE[t] + SPREAD[t] * shock for t in f["target"]]
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def test_backtest_blocks_carry_their_error_pattern_into_scenarios() -> None:
    history = backtest_with_persistent_errors()
    scores = pit_scores(history)
    assert set(scores["origin"]) == set(history["origin"])
    needs = draw(n=2000, pit_history=history)
    assert "backtest blocks from 10 origins" in needs.source
    o3 = needs.children_over3
    # the district moves together: far stronger than the copula's modest 0.2
    assert np.corrcoef(o3[:, 0, 2], o3[:, 2, 9])[0, 1] > 0.5


def test_missing_children_forecasts_are_reported_with_kindergarten_and_month() -> None:
    forecasts = normal_forecasts()
    forecasts = forecasts[
        ~(
            (forecasts["kindergarten_id"] == "b")
            & (forecasts["month"] == "2025-03")
            & (forecasts["target"] == "children_over3")
        )
    ]
    with pytest.raises(UserInputError, match="do not cover the plan period 2025-01–2025-12") as e:
        draw(forecasts=forecasts)
    assert [str(p) for p in e.value.problems] == [
        "error: forecasts, column 'children_over3': no forecast from origin 2024-12 for this "
        "kindergarten and month (found 'b 2025-03')"
    ]


def test_missing_optional_targets_become_zero_with_a_warning() -> None:
    forecasts = normal_forecasts(targets=("children_under3", "children_over3"))
    needs = draw(forecasts=forecasts)
    assert not needs.vedtak_31.any() and not needs.sick_leave_rate.any()
    assert "no forecast of vedtak_31: taken as 0 in every scenario" in needs.warnings
