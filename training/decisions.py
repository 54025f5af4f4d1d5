"""The decision backtest: what this engine would have planned at each past origin, scored on
what happened.

For each origin (default the last 3 kindergarten years: origins at the end of July, each
planning August–July, every month of which is in the data) the forecaster is refitted on the
data known at the origin only (``as_of``), a short rolling backtest inside that data gives the
scenarios their dependence, and the *planner* (the engine's own plan path, passed in by the
caller: ``serving`` owns plan requests and training must not import it) makes the plan. Beside it,
on the same pools and budget:

* ``key`` — the proportional key (children; § 31 + § 37 decisions for resource pedagogues) at
  the origin;
* ``no_pool`` — nothing extra given out;
* ``median_only`` — the same optimiser on the median forecast alone (one scenario);
* ``oracle`` — the same optimiser on the realised needs, minimising unweighted unmet FTE-months
  (perfect information; the best any allocation could have done, to the MIP gap of 0);
* ``plan_equity_0`` and ``plan_risk_neutral`` — the plan with the equity weight at 0 and with
  no tail weight: what the equity and risk settings cost.

All are scored by :mod:`training.decision_scoring`. Origins run in parallel processes (joblib)
when ``n_jobs`` > 1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from data.contract import MONTH, RESOURCES, District
from data.errors import Problem, UserInputError
from models.allocation import (
    DEFAULT_RISK,
    DEFAULT_SCENARIO_SPREAD,
    AllocationSettings,
    NeedWeights,
    SolverOptions,
    equity_cost_share,
    optimise,
)
from models.allocation.comparison import key_allocation
from models.forecast.inputs import as_of
from models.needs import NEED_TARGETS, NeedScenarios, simulate_needs
from training.decision_scoring import realised_needs, realised_outcome, regret, regret_table

#: the kindergarten year starts in August: a plan made at the end of July covers it whole
KG_YEAR_ORIGIN_MONTH = 7
DEFAULT_DECISION_ORIGINS = 3
#: rolling origins inside each origin's data for the scenarios' dependence (0 = copula only)
DEFAULT_SCENARIO_ORIGINS = 3
PLAN = "plan"
KEY = "key"
NO_POOL = "no_pool"
MEDIAN_ONLY = "median_only"
ORACLE = "oracle"
PLAN_EQUITY_0 = "plan_equity_0"
PLAN_RISK_NEUTRAL = "plan_risk_neutral"
ALLOCATIONS = (PLAN, KEY, NO_POOL, MEDIAN_ONLY, ORACLE, PLAN_EQUITY_0, PLAN_RISK_NEUTRAL)
#: the oracle's objective: every unmet FTE-month counts the same, no buffer, no tail
UNWEIGHTED = NeedWeights(legal=1.0, special_needs=1.0, quality=0.0, cvar_weight=0.0)

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PlanSettings:
    """The plan settings that are not policy (tuned on decisions, shown with every plan):
    the tail measure's risk level and weight, the scenarios' spread and the allocation steps
    (FTE, per resource in RESOURCES order; pedagogues stay whole positions)."""

    risk: float = DEFAULT_RISK
    tail_weight: float = NeedWeights().cvar_weight
    scenario_spread: float = DEFAULT_SCENARIO_SPREAD
    step_fte: tuple[float, ...] = AllocationSettings().step_fte

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["step_fte"] = dict(zip(RESOURCES, self.step_fte, strict=True))
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> PlanSettings:
        steps = values.get("step_fte", cls().step_fte)
        if isinstance(steps, Mapping):
            steps = tuple(float(steps[r]) for r in RESOURCES)
        return cls(
            risk=float(values.get("risk", cls.risk)),
            tail_weight=float(values.get("tail_weight", cls.tail_weight)),
            scenario_spread=float(values.get("scenario_spread", cls.scenario_spread)),
            step_fte=tuple(float(s) for s in steps),
        )


@dataclass(frozen=True)
class DecisionPolicy:
    """The district's policy, fixed during a backtest and a tuning: pools (FTE per resource),
    budget (NOK for the plan period), equity weight, plan length and scenario draw."""

    pools: Mapping[str, float]
    budget_nok: float | None = None
    equity_weight: float = 1.0
    months: int = 12
    n_scenarios: int = 200
    seed: int = 0


@dataclass
class PlannedAllocation:
    """What the planner returns: the plan's lines as arrays, and what the baselines need."""

    kindergarten_ids: tuple[str, ...]
    current_fte: np.ndarray  #: (K, R) contracted at the origin
    change_fte: np.ndarray  #: (K, R) the plan
    pools_fte: np.ndarray  #: (R,), inf where only the budget limits
    cost_per_fte_nok: np.ndarray  #: (R,) per FTE over the plan period
    equity: np.ndarray  #: (K,) equity weights the plan used
    children: np.ndarray  #: (K,) at the origin, the key's weights
    decisions: np.ndarray  #: (K,) § 31 + § 37 at the origin
    budget_nok: float | None = None
    #: (R,) the steps the plan was made in (the key hands out the same steps)
    step_fte: np.ndarray = field(default_factory=lambda: np.asarray(AllocationSettings().step_fte))
    #: the forecasts the plan was made on (the model's, plus any fallback forecasts for
    #: kindergartens it could not forecast); None: the origin's forecasts as they are
    forecasts: pd.DataFrame | None = None

    @property
    def resources(self) -> tuple[str, ...]:
        return tuple(RESOURCES)


class Planner(Protocol):
    """The engine's plan path: data known at the origin, its forecasts and backtest history, the
    policy and the settings → the plan (``serving.plan_defaults.engine_planner``)."""

    def __call__(
        self,
        known: District,
        forecasts: pd.DataFrame,
        pit_history: pd.DataFrame | None,
        policy: DecisionPolicy,
        settings: PlanSettings,
    ) -> PlannedAllocation: ...


@dataclass
class OriginCase:
    """One past plan period: the data known at its origin, the forecasts made then, and the
    monthly rows that followed (the realised needs)."""

    origin: pd.Period
    known: District
    forecasts: pd.DataFrame
    pit_history: pd.DataFrame | None
    realised: pd.DataFrame
    months: pd.PeriodIndex
    fit_seconds: float = 0.0


@dataclass
class DecisionBacktest:
    """``outcomes``: one row per origin × allocation with the measures of
    :func:`training.decision_scoring.realised_outcome`; ``regrets`` per origin × allocation;
    ``summary`` per origin and overall (regret, VSS, EVPI)."""

    outcomes: pd.DataFrame
    regrets: pd.DataFrame
    summary: pd.DataFrame
    origins: list[pd.Period]
    settings: PlanSettings
    policy: DecisionPolicy
    seconds: float = 0.0
    fit_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def overall_regret(self) -> float:
        return float(self.summary.loc[self.summary["origin"] == "overall", "regret"].iloc[0])


def decision_origins(
    district: District, n_origins: int = DEFAULT_DECISION_ORIGINS, months: int = 12
) -> list[pd.Period]:
    """The last ``n_origins`` ends of July whose following ``months`` months are all in the
    data, oldest first; a :class:`UserInputError` when the data are too short."""
    last = district.last_month - months
    latest = pd.Period(year=last.year, month=KG_YEAR_ORIGIN_MONTH, freq="M")
    if latest > last:
        latest = latest - 12
    origins = [latest - 12 * i for i in range(n_origins)][::-1]
    if n_origins < 1 or origins[0] <= district.first_month:
        raise UserInputError(
            f"too little history for {n_origins} decision-backtest origin(s)",
            [
                Problem(
                    file="monthly",
                    column=MONTH,
                    rule=f"each origin needs data before it and {months} months after it; "
                    f"the data run {district.first_month}–{district.last_month}",
                    value=n_origins,
                )
            ],
        )
    return origins


def prepare_case(
    district: District,
    origin: pd.Period,
    make_pipeline: Callable[[], Any],
    *,
    months: int = 12,
    scenario_origins: int = DEFAULT_SCENARIO_ORIGINS,
) -> OriginCase:
    """Refit the forecaster on the data known at ``origin`` (and backtest it there for the
    scenarios' dependence), forecast the plan period; keep the realised months beside it."""
    from training.backtest import rolling_origin_backtest

    started = time.perf_counter()
    known = as_of(district, origin)
    pit_history = None
    if scenario_origins > 0:
        backtest = rolling_origin_backtest(
            known,
            make_pipeline,
            n_origins=scenario_origins,
            span_months=max(3 * scenario_origins, 12),
            baselines=False,
        )
        pit_history = backtest.predictions[backtest.predictions["model"] == "lightgbm"]
    pipeline = make_pipeline().fit(known)
    forecasts = pipeline.predict(known, horizon=months)
    plan_months = pd.period_range(origin + 1, periods=months, freq="M")
    realised = district.monthly[
        (district.monthly[MONTH] > origin) & (district.monthly[MONTH] <= plan_months[-1])
    ].reset_index(drop=True)
    return OriginCase(
        origin,
        known,
        forecasts,
        pit_history,
        realised,
        plan_months,
        time.perf_counter() - started,
    )


def median_needs(forecasts: pd.DataFrame, planned: PlannedAllocation, months) -> NeedScenarios:
    """One scenario: the forecast medians (counts rounded), for the median-only plan."""
    drawn = simulate_needs(
        forecasts,
        kindergarten_ids=planned.kindergarten_ids,
        months=months,
        current_fte=planned.current_fte,
        n_scenarios=1,
    )
    values = {t: np.maximum(drawn.median[t], 0.0)[None] for t in NEED_TARGETS}
    for target in ("children_under3", "children_over3", "vedtak_31", "vedtak_37"):
        values[target] = np.round(values[target])
    values["sick_leave_rate"] = np.clip(values["sick_leave_rate"], 0.0, 1.0)
    return NeedScenarios(
        kindergarten_ids=planned.kindergarten_ids,
        months=months,
        current_fte=planned.current_fte,
        source="median forecast",
        **values,
    )


def oracle_change(truth: NeedScenarios, planned: PlannedAllocation) -> np.ndarray:
    """The same optimiser on the realised needs, every unmet FTE-month weighing the same, the
    engine's default steps, solved to optimality (gap 0)."""
    _, solution = optimise(
        truth,
        pools_fte=planned.pools_fte,
        cost_per_fte_nok=planned.cost_per_fte_nok,
        equity=np.ones(len(planned.kindergarten_ids)),
        settings=AllocationSettings(risk=0.0, weights=UNWEIGHTED),
        budget_nok=planned.budget_nok,
        options=SolverOptions(mip_rel_gap=0.0),
    )
    return solution.change_fte


def key_change(planned: PlannedAllocation) -> np.ndarray:
    """The proportional key as the plan summary makes it
    (:func:`models.allocation.comparison.key_allocation`): the plan's pools, budget, cost per FTE
    and steps; where only the budget limits a resource, what the plan used of it; never
    spending more than the budget."""
    return key_allocation(
        planned,
        children=planned.children,
        decisions=planned.decisions,
        plan_change_fte=planned.change_fte,
    )


def median_only_change(
    case: OriginCase,
    planned: PlannedAllocation,
    settings: PlanSettings,
    equity_weight: float = DecisionPolicy.equity_weight,
) -> np.ndarray:
    """The same optimiser on the median forecast alone, with the plan's settings and its
    equity tilt (bounded as the plan's is)."""
    forecasts = planned.forecasts if planned.forecasts is not None else case.forecasts
    _, solution = optimise(
        median_needs(forecasts, planned, case.months),
        pools_fte=planned.pools_fte,
        cost_per_fte_nok=planned.cost_per_fte_nok,
        equity=planned.equity,
        settings=AllocationSettings(
            step_fte=settings.step_fte,
            risk=settings.risk,
            weights=NeedWeights(cvar_weight=settings.tail_weight),
            equity_cost_share=equity_cost_share(equity_weight),
        ),
        budget_nok=planned.budget_nok,
    )
    return solution.change_fte


@dataclass
class CaseBaselines:
    """Per origin what does not depend on the plan settings: the realised needs and the key, no
    pool and oracle outcomes (computed once, reused by every tuning trial)."""

    truth: NeedScenarios
    outcomes: dict[str, dict[str, float]]


def case_baselines(case: OriginCase, planned: PlannedAllocation) -> CaseBaselines:
    truth = realised_needs(
        case.realised, planned.kindergarten_ids, case.months, planned.current_fte
    )
    changes = {
        KEY: key_change(planned),
        NO_POOL: np.zeros_like(planned.change_fte),
        ORACLE: oracle_change(truth, planned),
    }
    return CaseBaselines(truth, {n: realised_outcome(truth, c) for n, c in changes.items()})


def score_case(
    case: OriginCase,
    planner: Planner,
    policy: DecisionPolicy,
    settings: PlanSettings,
    *,
    variants: bool = True,
) -> pd.DataFrame:
    """Outcome rows (origin, allocation, measures) of every allocation at one origin."""
    planned = planner(case.known, case.forecasts, case.pit_history, policy, settings)
    base = case_baselines(case, planned)
    outcomes = dict(base.outcomes)
    outcomes[PLAN] = realised_outcome(base.truth, planned.change_fte)
    outcomes[MEDIAN_ONLY] = realised_outcome(
        base.truth, median_only_change(case, planned, settings, policy.equity_weight)
    )
    if variants:
        equity_0 = (
            planned
            if policy.equity_weight == 0
            else planner(
                case.known,
                case.forecasts,
                case.pit_history,
                replace(policy, equity_weight=0.0),
                settings,
            )
        )
        outcomes[PLAN_EQUITY_0] = realised_outcome(base.truth, equity_0.change_fte)
        neutral = planner(
            case.known, case.forecasts, case.pit_history, policy, replace(settings, tail_weight=0.0)
        )
        outcomes[PLAN_RISK_NEUTRAL] = realised_outcome(base.truth, neutral.change_fte)
    rows = [
        {"origin": str(case.origin), "allocation": name, **values}
        for name, values in outcomes.items()
    ]
    return pd.DataFrame(rows)


def summarise(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per origin and ``overall`` (sums over origins): regret of the plan and of each variant,
    VSS = median-only − plan and EVPI = plan − oracle (unmet FTE-months; VSS > 0 means the
    scenarios bought something), and the plan's share of the key–oracle gap closed (1 − regret).
    """
    measure = "unmet_total"
    wide = outcomes.pivot_table(index="origin", columns="allocation", values=measure)
    wide.loc["overall"] = wide.sum()
    rows = []
    for origin, row in wide.iterrows():
        record: dict[str, Any] = {"origin": str(origin)}
        for name in row.index:
            record[f"unmet_{name}"] = float(row[name])
        for name in (PLAN, MEDIAN_ONLY, PLAN_EQUITY_0, PLAN_RISK_NEUTRAL):
            if name in row.index:
                column = "regret" if name == PLAN else f"regret_{name}"
                record[column] = regret(float(row[name]), float(row[KEY]), float(row[ORACLE]))
        record["gap_closed"] = 1.0 - record["regret"]
        record["vss"] = float(row[MEDIAN_ONLY] - row[PLAN])
        record["evpi"] = float(row[PLAN] - row[ORACLE])
        rows.append(record)
    return pd.DataFrame(rows)


def _run_origin(
    district: District,
    origin: pd.Period,
    make_pipeline: Callable[[], Any],
    planner: Planner,
    policy: DecisionPolicy,
    settings: PlanSettings,
    scenario_origins: int,
    variants: bool,
) -> tuple[pd.DataFrame, float]:
    case = prepare_case(
        district, origin, make_pipeline, months=policy.months, scenario_origins=scenario_origins
    )
    return score_case(case, planner, policy, settings, variants=variants), case.fit_seconds


def default_jobs(n_origins: int) -> int:
    """One process per origin, at most one per core."""
    return max(1, min(n_origins, os.cpu_count() or 1))


def decision_backtest(
    district: District,
    make_pipeline: Callable[[], Any],
    planner: Planner,
    policy: DecisionPolicy,
    *,
    settings: PlanSettings | None = None,
    n_origins: int = DEFAULT_DECISION_ORIGINS,
    scenario_origins: int = DEFAULT_SCENARIO_ORIGINS,
    n_jobs: int | None = None,
    variants: bool = True,
    progress: Progress | None = None,
) -> DecisionBacktest:
    """Plan at each of the last ``n_origins`` origins and score on what happened (module doc)."""
    from joblib import Parallel, delayed

    settings = settings or PlanSettings()
    origins = decision_origins(district, n_origins, policy.months)
    jobs = n_jobs if n_jobs is not None else default_jobs(len(origins))
    started = time.perf_counter()
    args = (make_pipeline, planner, policy, settings, scenario_origins, variants)
    if jobs <= 1:
        results = []
        for i, origin in enumerate(origins):
            if progress is not None:
                progress(f"origin {origin}", i, len(origins))
            results.append(_run_origin(district, origin, *args))
    else:
        if progress is not None:
            progress(f"{len(origins)} origins in {jobs} processes", 0, len(origins))
        results = Parallel(n_jobs=jobs)(
            delayed(_run_origin)(district, origin, *args) for origin in origins
        )
    if progress is not None:
        progress("scored", len(origins), len(origins))
    outcomes = pd.concat([r[0] for r in results], ignore_index=True)
    return DecisionBacktest(
        outcomes=outcomes,
        regrets=regret_table(outcomes),
        summary=summarise(outcomes),
        origins=origins,
        settings=settings,
        policy=policy,
        seconds=time.perf_counter() - started,
        fit_seconds={str(o): r[1] for o, r in zip(origins, results, strict=True)},
    )


__all__ = [
    "ALLOCATIONS",
    "DecisionBacktest",
    "DecisionPolicy",
    "OriginCase",
    "PlanSettings",
    "PlannedAllocation",
    "Planner",
    "decision_backtest",
    "decision_origins",
    "prepare_case",
    "score_case",
    "summarise",
]
