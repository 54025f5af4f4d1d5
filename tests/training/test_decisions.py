"""The decision backtest (issue #19): the oracle is never worse than any allocation (brute force
on a tiny district), the key's regret is 1 and the oracle's 0 by construction, and nothing
planned at an origin depends on the data after it."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tracking_fixtures import FAST_LGBM, small_district

from data.contract import MONTH, RESOURCES, District
from data.errors import UserInputError
from models.allocation import AllocationSettings
from models.needs import NEED_TARGETS, NeedScenarios
from serving.plan_defaults import engine_planner
from training.decision_scoring import realised_outcome, regret, regret_table
from training.decisions import (
    KEY,
    ORACLE,
    PLAN,
    DecisionBacktest,
    DecisionPolicy,
    PlannedAllocation,
    PlanSettings,
    decision_backtest,
    decision_origins,
    key_change,
    oracle_change,
    prepare_case,
    score_case,
)

POOLS = {"staff": 1.0, "pedagogue": 1.0, "resource_pedagogue": 0.5}
FAST_TARGETS = ("children_under3", "children_over3", "vedtak_31", "sick_leave_rate")
#: three months planned: the small forecaster's horizon
POLICY = DecisionPolicy(pools=POOLS, months=3, n_scenarios=40)


def fast_pipeline(targets: tuple[str, ...] = FAST_TARGETS) -> Any:
    from models.forecast.pipeline import ForecastPipeline

    return ForecastPipeline(
        targets=targets,
        horizons=3,
        calibration_origins=2,
        interval_method="residual",
        lgbm_params=dict(FAST_LGBM),
        n_jobs=1,
    )


# -- the oracle against brute force on a tiny district -------------------------------------------
def tiny_truth(rng: np.random.Generator) -> NeedScenarios:
    """Two kindergartens, two realised months, contracted FTE below the norms."""
    months = pd.period_range("2024-08", periods=2, freq="M")
    shape = (1, 2, 2)
    return NeedScenarios(
        kindergarten_ids=("A", "B"),
        months=months,
        children_under3=rng.integers(4, 14, shape).astype(float),
        children_over3=rng.integers(10, 30, shape).astype(float),
        vedtak_31=rng.integers(0, 3, shape).astype(float),
        vedtak_37=rng.integers(0, 2, shape).astype(float),
        sick_leave_rate=rng.uniform(0.03, 0.15, shape),
        current_fte=np.array([[3.0, 1.0, 0.0], [4.0, 2.0, 0.1]]),
        source="realised",
    )


def grid(pool: float, step: float) -> list[tuple[float, float]]:
    """Every split of at most ``pool`` between two kindergartens on ``step``."""
    n = round(pool / step)
    return [(a * step, b * step) for a in range(n + 1) for b in range(n + 1 - a)]


@pytest.mark.parametrize("seed", range(4))
def test_the_oracle_is_never_worse_than_any_allocation_on_realised_needs(seed: int) -> None:
    truth = tiny_truth(np.random.default_rng(seed))
    steps = AllocationSettings().step_fte
    pools = np.asarray(steps) * np.array([3, 1, 2])  # 10 × 3 × 6 splits on the steps
    planned = PlannedAllocation(
        kindergarten_ids=truth.kindergarten_ids,
        current_fte=truth.current_fte,
        change_fte=np.zeros((2, 3)),
        pools_fte=pools,
        cost_per_fte_nok=np.array([650_000.0, 780_000.0, 800_000.0]),
        equity=np.array([1.0, 1.3]),
        children=np.array([30.0, 20.0]),
        decisions=np.array([1.0, 2.0]),
    )
    oracle = realised_outcome(truth, oracle_change(truth, planned))["unmet_total"]
    brute = []
    splits = [grid(p, s) for p, s in zip(pools, steps, strict=True)]
    for combination in itertools.product(*splits):
        change = np.array(combination).T  # (K, R)
        brute.append(realised_outcome(truth, change)["unmet_total"])
    assert len(brute) == 10 * 3 * 6  # 3, 1 and 2 steps split between two kindergartens
    assert oracle <= min(brute) + 1e-6
    assert oracle == pytest.approx(min(brute), abs=1e-6)


def test_regret_is_undefined_when_the_key_is_as_good_as_the_oracle() -> None:
    assert regret(5.0, 10.0, 5.0) == 0.0
    assert regret(10.0, 10.0, 5.0) == 1.0
    assert np.isnan(regret(3.0, 2.0, 2.0))


# -- a real backtest on a small simulated district ------------------------------------------------
@pytest.fixture(scope="module")
def district() -> District:
    return small_district(seed=5, n_kindergartens=6)


@pytest.fixture(scope="module")
def backtest(district: District) -> DecisionBacktest:
    return decision_backtest(
        district, fast_pipeline, engine_planner, POLICY, n_origins=2, scenario_origins=0, n_jobs=1
    )


def test_origins_are_the_last_kindergarten_years_fully_in_the_data(district: District) -> None:
    assert [str(o) for o in decision_origins(district, 2, months=3)] == ["2023-07", "2024-07"]
    assert [str(o) for o in decision_origins(district, 1, months=12)] == ["2023-07"]
    with pytest.raises(UserInputError, match="too little history"):
        decision_origins(district, 6, months=12)


def test_key_regret_is_one_and_oracle_regret_zero_by_construction(
    backtest: DecisionBacktest,
) -> None:
    table = regret_table(backtest.outcomes)
    for origin, group in table.groupby("origin"):
        by = group.set_index("allocation")["regret"]
        assert by[KEY] == pytest.approx(1.0), origin
        assert by[ORACLE] == pytest.approx(0.0), origin


def test_the_oracle_is_best_at_every_origin_and_the_summary_pools_them(
    backtest: DecisionBacktest,
) -> None:
    wide = backtest.outcomes.pivot_table(index="origin", columns="allocation", values="unmet_total")
    assert (wide[ORACLE].to_numpy()[:, None] <= wide.to_numpy() + 1e-6).all()
    overall = backtest.summary.set_index("origin").loc["overall"]
    assert overall["unmet_plan"] == pytest.approx(wide[PLAN].sum())
    assert overall["regret"] == pytest.approx(
        regret(wide[PLAN].sum(), wide[KEY].sum(), wide[ORACLE].sum())
    )
    assert overall["evpi"] == pytest.approx(wide[PLAN].sum() - wide[ORACLE].sum())
    assert overall["vss"] == pytest.approx(wide["median_only"].sum() - wide[PLAN].sum())
    assert overall["gap_closed"] == pytest.approx(1 - overall["regret"])
    assert set(backtest.fit_seconds) == {"2023-07", "2024-07"}


def test_parallel_origins_give_the_same_figures(
    district: District, backtest: DecisionBacktest
) -> None:
    parallel = decision_backtest(
        district,
        fast_pipeline,
        engine_planner,
        POLICY,
        n_origins=2,
        scenario_origins=0,
        n_jobs=2,
        variants=False,
    )
    ours = backtest.outcomes[backtest.outcomes["allocation"].isin(parallel.outcomes["allocation"])]
    pd.testing.assert_frame_equal(
        ours.reset_index(drop=True), parallel.outcomes.reset_index(drop=True), check_like=True
    )


def test_changing_data_after_an_origin_changes_nothing_planned_at_it(district: District) -> None:
    origin = pd.Period("2023-07", "M")
    monthly = district.monthly.copy()
    after = monthly[MONTH] > origin
    monthly.loc[after, "children_over3"] = monthly.loc[after, "children_over3"] * 3
    monthly.loc[after, "vedtak_31"] = monthly.loc[after, "vedtak_31"] + 4
    monthly.loc[after, "sick_leave_rate"] = 0.4
    dropped = monthly[after & (monthly["kindergarten_id"] == monthly["kindergarten_id"].iloc[0])]
    changed = District(
        kindergartens=district.kindergartens,
        monthly=monthly.drop(index=dropped.index).reset_index(drop=True),
        population=district.population,
        simulated=True,
        source=district.source,
    )
    planned = []
    for data in (district, changed):
        case = prepare_case(data, origin, fast_pipeline, months=3, scenario_origins=0)
        plan = engine_planner(case.known, case.forecasts, None, POLICY, PlanSettings())
        planned.append((case, plan))
    (case_a, plan_a), (case_b, plan_b) = planned
    pd.testing.assert_frame_equal(case_a.forecasts, case_b.forecasts)
    np.testing.assert_array_equal(plan_a.change_fte, plan_b.change_fte)
    np.testing.assert_array_equal(plan_a.current_fte, plan_b.current_fte)
    assert not case_a.realised.equals(case_b.realised)  # the realised months did change


def test_a_kindergarten_the_model_cannot_forecast_is_planned_and_scored_by_every_allocation(
    district: District,
) -> None:
    """A kindergarten without a row at the origin gets the plan's fallback forecast; the
    median-only plan plans on the same forecasts, and every allocation is scored."""
    origin = pd.Period("2024-07", "M")
    monthly = district.monthly
    gapped = monthly["kindergarten_id"].iloc[0]
    drop = (monthly["kindergarten_id"] == gapped) & (monthly[MONTH] == origin)
    data = District(
        kindergartens=district.kindergartens,
        monthly=monthly[~drop].reset_index(drop=True),
        population=district.population,
        simulated=True,
        source=district.source,
    )
    # every need target forecast: the fallback fills in all of them for the gapped one
    case = prepare_case(
        data, origin, lambda: fast_pipeline(NEED_TARGETS), months=3, scenario_origins=0
    )
    planned = engine_planner(case.known, case.forecasts, None, POLICY, PlanSettings())
    assert gapped not in set(case.forecasts["kindergarten_id"].astype(str))
    assert gapped in planned.kindergarten_ids
    assert planned.forecasts is not None
    assert gapped in set(planned.forecasts["kindergarten_id"].astype(str))
    scored = score_case(case, engine_planner, POLICY, PlanSettings(), variants=False)
    assert set(scored["allocation"]) == {PLAN, KEY, ORACLE, "no_pool", "median_only"}
    assert scored["unmet_total"].notna().all()


def test_the_key_spends_no_more_than_the_budget_in_the_plans_steps() -> None:
    """The key is the plan summary's (models.allocation.comparison.key_allocation): pools that
    cost more than the budget shrink until the key fits it, in the plan's steps."""
    cost = np.array([650_000.0, 780_000.0, 800_000.0])
    steps = np.array([0.5, 1.0, 0.5])
    planned = PlannedAllocation(
        kindergarten_ids=("A", "B", "C"),
        current_fte=np.ones((3, 3)),
        change_fte=np.zeros((3, 3)),
        pools_fte=np.array([4.0, 2.0, 3.0]),  # 6.76 MNOK against a budget of 3 MNOK
        cost_per_fte_nok=cost,
        equity=np.ones(3),
        children=np.array([30.0, 20.0, 10.0]),
        decisions=np.array([1.0, 2.0, 4.0]),
        budget_nok=3_000_000.0,
        step_fte=steps,
    )
    key = key_change(planned)
    spend = float((key.sum(axis=0) * cost).sum())
    assert 0 < spend <= 3_000_000.0
    assert spend > 3_000_000.0 - cost.max()  # little left unspent
    np.testing.assert_allclose(key / steps, np.round(key / steps), atol=1e-9)
    without_budget = key_change(replace(planned, budget_nok=None))
    np.testing.assert_allclose(without_budget.sum(axis=0), planned.pools_fte)


def test_the_backtests_key_is_the_plans_key_and_keeps_to_its_budget(district: District) -> None:
    """At an origin planned under a budget, the decision backtest's key is the very key the plan
    summary compares with (same pools, budget, cost and steps), and spends ≤ the budget."""
    from serving.plan_defaults import request_for
    from serving.planning import build_plan

    origin = pd.Period("2024-07", "M")
    case = prepare_case(district, origin, fast_pipeline, months=3, scenario_origins=0)
    policy = replace(POLICY, budget_nok=400_000.0)
    settings = PlanSettings(step_fte=(0.5, 1.0, 0.5))
    planned = engine_planner(case.known, case.forecasts, None, policy, settings)
    key = key_change(planned)
    spend = float((key.sum(axis=0) * planned.cost_per_fte_nok).sum())
    assert spend <= 400_000.0 + 1e-6
    plan_spend = float((planned.change_fte.sum(axis=0) * planned.cost_per_fte_nok).sum())
    assert plan_spend <= 400_000.0 + 1e-6
    result = build_plan(case.known, case.forecasts, request_for(policy, settings))
    ids = list(result.compared.kindergarten_ids)
    order = [ids.index(k) for k in planned.kindergarten_ids]
    np.testing.assert_allclose(key, result.compared.changes["proportional"][order])


def test_plan_settings_round_trip_through_their_dict() -> None:
    settings = PlanSettings(risk=0.8, tail_weight=0.3, scenario_spread=1.2, step_fte=(0.5, 1, 0.5))
    record = settings.as_dict()
    assert record["step_fte"] == dict(zip(RESOURCES, (0.5, 1.0, 0.5), strict=True))
    assert PlanSettings.from_dict(record) == settings
    assert PlanSettings.from_dict({}) == PlanSettings()


def test_the_built_in_plan_settings_are_one_set_inside_what_tuning_searches() -> None:
    """The backtest's settings, the plan request's defaults and the tuning's trial 0 are the
    same built-in values, and the tuning's search range holds them (trial 0 is the defaults)."""
    import optuna

    from models.allocation import DEFAULT_RISK, DEFAULT_SCENARIO_SPREAD, RISK_RANGE, SPREAD_RANGE
    from serving.planning import PlanRequest
    from training.decision_tuning import search_space, trial_params

    built_in, request = PlanSettings(), PlanRequest(pools={})
    assert built_in.scenario_spread == request.scenario_spread == DEFAULT_SCENARIO_SPREAD
    assert built_in.risk == request.risk == DEFAULT_RISK
    assert built_in.tail_weight == request.tail_weight
    assert SPREAD_RANGE[0] <= DEFAULT_SCENARIO_SPREAD <= SPREAD_RANGE[1]
    assert RISK_RANGE[0] <= DEFAULT_RISK <= RISK_RANGE[1]
    study = optuna.create_study()
    study.enqueue_trial(trial_params(built_in))
    trial = study.ask()
    assert search_space(trial) == built_in
