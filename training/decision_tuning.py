"""Plan settings tuned on decisions: Optuna over the settings that are not policy, minimising
the realised regret of the decision backtest (:mod:`training.decisions`) at the district's
equity weight.

* Searched: the tail measure's risk level (0.5–0.99) and weight (0–1) and the scenario spread
  (0.4–1.6, ``models.allocation.SPREAD_RANGE``: a factor on the scenarios' normal scores; 0.6
  was better on some simulated districts, see ``DEFAULT_SCENARIO_SPREAD``). The steps are
  not searched: they are what the district can hire (``models.allocation.DEFAULT_STEP_FTE``,
  0.5/1/0.5 FTE), so a tuned record carries the built-in steps and a regret reached with other
  steps never promises what no plan delivers. Pools, budget, equity weight, moves, pins and
  steps are policy and stay as given.
* The forecasts do not depend on these settings, so every origin is refitted and forecast once
  (in parallel) and every trial only re-plans. The oracle and the key are computed once per
  origin too.
* A trial plans origin after origin; after each it reports the pooled regret so far and the
  median pruner may stop it. The built-in defaults are trial 0 (enqueued), so the best trial is
  never worse than the defaults on this backtest.
* The storage and the pruner are those of ``tune`` (:func:`training.tuning.open_study`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from data.contract import RESOURCES, District
from data.errors import Problem, UserInputError
from models.allocation import RISK_RANGE, SPREAD_RANGE
from training.decision_scoring import realised_outcome, regret
from training.decisions import (
    ORACLE,
    CaseBaselines,
    DecisionPolicy,
    OriginCase,
    Planner,
    PlanSettings,
    case_baselines,
    decision_origins,
    default_jobs,
    key_change,
    prepare_case,
)

DEFAULT_PLANS_STUDY = "bemanning-plans"
SETTINGS_ATTR = "plan_settings"
Progress = Callable[[str, int, int], None]


def search_space(trial: Any) -> PlanSettings:
    """One trial's plan settings (see module doc for the ranges and why)."""
    return PlanSettings(
        risk=trial.suggest_float("risk", *RISK_RANGE),
        tail_weight=trial.suggest_float("tail_weight", 0.0, 1.0),
        scenario_spread=trial.suggest_float("scenario_spread", *SPREAD_RANGE),
    )


def trial_params(settings: PlanSettings) -> dict[str, Any]:
    """The Optuna parameters that reproduce ``settings`` (to enqueue the defaults)."""
    return {
        "risk": settings.risk,
        "tail_weight": settings.tail_weight,
        "scenario_spread": settings.scenario_spread,
    }


@dataclass
class PreparedCases:
    """The origins, refitted and forecast once, with their baselines filled in on first use."""

    cases: list[OriginCase]
    baselines: list[CaseBaselines | None]

    @classmethod
    def build(
        cls,
        district: District,
        make_pipeline: Callable[[], Any],
        *,
        n_origins: int,
        months: int = 12,
        scenario_origins: int = 3,
        n_jobs: int | None = None,
    ) -> PreparedCases:
        from joblib import Parallel, delayed

        origins = decision_origins(district, n_origins, months)
        jobs = n_jobs if n_jobs is not None else default_jobs(len(origins))
        kwargs = {"months": months, "scenario_origins": scenario_origins}
        if jobs <= 1:
            cases = [prepare_case(district, o, make_pipeline, **kwargs) for o in origins]
        else:
            cases = Parallel(n_jobs=jobs)(
                delayed(prepare_case)(district, o, make_pipeline, **kwargs) for o in origins
            )
        return cls(list(cases), [None] * len(cases))


def plan_regret_totals(
    prepared: PreparedCases,
    index: int,
    planner: Planner,
    policy: DecisionPolicy,
    settings: PlanSettings,
) -> tuple[float, float, float]:
    """(plan, key, oracle) realised unmet FTE-months at origin ``index`` for ``settings``."""
    case = prepared.cases[index]
    planned = planner(case.known, case.forecasts, case.pit_history, policy, settings)
    base = prepared.baselines[index]
    if base is None:
        base = prepared.baselines[index] = case_baselines(case, planned)
    # the key under this trial's steps (tuned) and, where only the budget limits, what it used
    key = realised_outcome(base.truth, key_change(planned))["unmet_total"]
    plan = realised_outcome(base.truth, planned.change_fte)["unmet_total"]
    return plan, key, base.outcomes[ORACLE]["unmet_total"]


def make_objective(
    prepared: PreparedCases,
    planner: Planner,
    policy: DecisionPolicy,
    progress: Progress | None = None,
) -> Callable[[Any], float]:
    """Pooled realised regret over the origins, reported and pruned origin by origin."""
    import optuna

    def objective(trial: optuna.Trial) -> float:
        settings = search_space(trial)
        trial.set_user_attr(SETTINGS_ATTR, settings.as_dict())
        totals = np.zeros(3)
        value = float("nan")
        n = len(prepared.cases)
        for step in range(n):
            totals += plan_regret_totals(prepared, step, planner, policy, settings)
            value = regret(*totals)
            if progress is not None:
                progress(f"trial {trial.number} origin {step + 1}/{n}", step + 1, n)
            if value != value:  # key as good as the oracle: nothing to tune on yet
                continue
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"regret {value:.3f} after {step + 1} origin(s)")
        if value != value:
            raise UserInputError(
                "the proportional key was as good as the oracle at every origin: "
                "there is no regret to tune on",
                [Problem(file="--pool", rule="pools must leave a gap between key and oracle")],
            )
        return value

    return objective


def tune_plan_settings(
    prepared: PreparedCases,
    planner: Planner,
    policy: DecisionPolicy,
    *,
    n_trials: int,
    storage: str,
    study_name: str = DEFAULT_PLANS_STUDY,
    seed: int = 0,
    progress: Progress | None = None,
) -> Any:
    """Run ``n_trials`` trials (the defaults enqueued first in a new study); returns the study."""
    from training.tuning import open_study

    if n_trials < 1:
        raise UserInputError(
            "--trials must be at least 1",
            [Problem(file="--trials", rule="at least 1", value=n_trials)],
        )
    study = open_study(storage, study_name, seed=seed)
    if not study.trials:
        study.enqueue_trial(trial_params(PlanSettings()))
    study.set_user_attr("origins", [str(c.origin) for c in prepared.cases])
    study.set_user_attr("equity_weight", policy.equity_weight)
    study.optimize(
        make_objective(prepared, planner, policy, progress),
        n_trials=n_trials,
        gc_after_trial=True,
    )
    return study


def tuned_record(study: Any, prepared: PreparedCases, policy: DecisionPolicy) -> dict[str, Any]:
    """What is stored with the champion: the best trial's settings and regret, the defaults'
    regret (trial 0) beside it, the equity weight and origins it was tuned at."""
    import optuna

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise UserInputError(
            f"study {study.study_name!r} has no finished trial: run `bemanning tune --plans` "
            "longer",
            [Problem(file="--study", rule="needs at least one complete trial")],
        )
    best = min(complete, key=lambda t: t.value)
    defaults = trial_params(PlanSettings())
    default_trials = [t for t in complete if t.params == defaults]
    return {
        "settings": PlanSettings.from_dict(best.user_attrs[SETTINGS_ATTR]).as_dict(),
        "regret": float(best.value),
        "default_regret": float(default_trials[0].value) if default_trials else None,
        "equity_weight": policy.equity_weight,
        "pools": {r: float(policy.pools[r]) for r in RESOURCES if r in policy.pools},
        "origins": [str(c.origin) for c in prepared.cases],
        "study": study.study_name,
        "trial": best.number,
    }


__all__ = [
    "DEFAULT_PLANS_STUDY",
    "PreparedCases",
    "make_objective",
    "search_space",
    "tune_plan_settings",
    "tuned_record",
]
