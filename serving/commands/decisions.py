"""The decision side of ``backtest``, ``tune`` and ``train`` (issue #19): what the engine would
have planned at past origins, scored on what happened.

* ``bemanning backtest DATA --plans [--origins N] [--pool …] [--budget …]`` — the decision
  backtest (:mod:`training.decisions`) of the champion's configuration (or, with no champion,
  of the forecaster the command's options describe) with the champion's plan defaults; prints
  per origin and overall the regret, VSS and EVPI and the time; writes the outcomes, the summary
  and the plots to ``--out`` and logs them to MLflow with the model's run.
* ``bemanning tune DATA --plans --trials N`` — tunes the plan settings that are not policy on
  that backtest (:mod:`training.decision_tuning`) and stores the best with the champion, where
  ``plan`` and the report take them as defaults.
* ``bemanning train DATA --promote-on-decisions`` — a challenger that forecasts better must
  also plan at least as well (:mod:`training.decision_promotion`).

The policy (pools, budget, equity weight) comes from the options; when none is given, from the
policy the champion's plan settings were tuned at. Each origin plans 12 months, or the model's
horizon when it forecasts fewer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from serving.commands.common import console, print_study_states
from serving.commands.decision_texts import (
    pools_text,
    print_decision_backtest,
    settings_text,
    tuned_defaults_text,
)
from serving.plan_options import OPTIONS

if TYPE_CHECKING:
    from data.contract import District
    from training.decision_promotion import DecisionCheck
    from training.decisions import DecisionBacktest, DecisionPolicy
    from training.registry import LoadedModel

#: the plan period of a decision-backtest origin: one kindergarten year
PLAN_MONTHS = 12

PlansFlag = Annotated[
    bool,
    typer.Option(
        "--plans",
        help="Judge plans, not forecasts: at each of the last --origins kindergarten years "
        "(default 3) plan from the data known then and score the plan on what happened, beside "
        "the proportional key, no pool, a median-only plan and the perfect-information oracle. "
        "Needs --pool or --budget (or plan settings tuned at a policy).",
    ),
]
#: the plan's own default (one definition: serving.plan_options.OPTIONS)
DEFAULT_EQUITY_WEIGHT = float(OPTIONS["equity_weight"].default)
EquityWeightOption = Annotated[
    float,
    typer.Option(
        "--equity-weight",
        min=0.0,
        help="The district's equity weight the plans are made at (as `bemanning plan`).",
    ),
]
ScenarioOriginsOption = Annotated[
    int,
    typer.Option(
        "--scenario-origins",
        min=0,
        help="With --plans: rolling origins inside each origin's data that give the scenarios "
        "their dependence (0 = the Gaussian copula only; faster).",
    ),
]
JobsOption = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        min=1,
        help="With --plans: processes the origins run in (default one per origin, at most one "
        "per core).",
    ),
]
PromoteOnDecisionsFlag = Annotated[
    bool,
    typer.Option(
        "--promote-on-decisions",
        help="A challenger that forecasts better is promoted only if it also plans at least as "
        "well on the decision backtest (the last 3 kindergarten years, --pool/--budget or the "
        "champion's tuned policy); the reason is printed and recorded.",
    ),
]


# -- policy and model -------------------------------------------------------------------------
def load_champion_or_none(tracking_uri: str | None) -> LoadedModel | None:
    """The champion, or None when there is none yet (other problems, e.g. an unreachable
    tracking server, are raised)."""
    from data.errors import UserInputError
    from training.registry import NO_CHAMPION, load_champion

    try:
        return load_champion(tracking_uri)
    except UserInputError as exc:
        if str(exc) == NO_CHAMPION:
            return None
        raise


def plan_months(pipeline: Any) -> int:
    """12 months, or the model's horizon when it forecasts fewer."""
    return min(PLAN_MONTHS, int(getattr(pipeline, "horizons", PLAN_MONTHS)))


def decision_policy(
    *,
    pool: list[str] | None,
    budget: float | None,
    equity_weight: float,
    equity_given: bool,
    months: int,
    champion: LoadedModel | None,
) -> DecisionPolicy:
    """The policy from ``--pool``/``--budget``/``--equity-weight``; without pools and budget,
    the one the champion's plan settings were tuned at; else every problem at once."""
    from data.errors import Problem, UserInputError
    from serving.plan_options import collect_plan_options
    from training.decisions import DecisionPolicy

    pools, budget_nok, _, problems = collect_plan_options(
        pools=pool, budget=budget, start=None, months=months, risk=0.9
    )
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) with the plan options", problems)
    tuned: Mapping[str, Any] = (champion.plan_defaults or {}) if champion is not None else {}
    if not pools and budget_nok is None:
        if not tuned.get("pools"):
            raise UserInputError(
                "the decision backtest needs a policy to plan with",
                [
                    Problem(
                        "--pool",
                        "give at least one --pool RESOURCE=FTE or a --budget (the champion has "
                        "no plan settings tuned at a policy)",
                    )
                ],
            )
        pools = {str(r): float(v) for r, v in tuned["pools"].items()}
        if not equity_given and "equity_weight" in tuned:
            equity_weight = float(tuned["equity_weight"])
        console.print(
            f"Policy of the champion's tuned plan settings: pools {pools_text(pools)}, equity "
            f"weight {equity_weight:g}.",
            highlight=False,
        )
    return DecisionPolicy(
        pools=pools, budget_nok=budget_nok, equity_weight=equity_weight, months=months
    )


# -- backtest --plans -------------------------------------------------------------------------
def backtest_plans(
    data: Path,
    *,
    columns: Path | None,
    make_fallback_pipeline: Callable[[], Any],
    n_origins: int,
    pool: list[str] | None,
    budget: float | None,
    equity_weight: float,
    equity_given: bool,
    scenario_origins: int,
    n_jobs: int | None,
    out: Path,
    tracking_uri: str | None,
) -> DecisionBacktest:
    """``bemanning backtest DATA --plans`` (module doc)."""
    from sklearn.base import clone

    from serving.commands.training_common import _progress, _read
    from serving.plan_defaults import engine_planner
    from training.decision_promotion import plan_settings_of
    from training.decision_tracking import log_decision_backtest, write_decision_plots
    from training.decisions import decision_backtest
    from training.settings import load_settings
    from training.tracking import check_tracking_server

    settings = load_settings(tracking_uri)
    check_tracking_server(settings)
    champion = load_champion_or_none(tracking_uri)
    if champion is not None:
        console.print(
            f"Champion version [bold]{champion.version}[/]: its configuration is refitted at "
            "each origin on the data known then."
        )

        def make_pipeline() -> Any:
            return clone(champion.pipeline)
    else:
        console.print(
            "No champion yet: the forecaster of this command's options is refitted at each "
            "origin, and the backtest is logged to a run of its own."
        )
        make_pipeline = make_fallback_pipeline
    months = plan_months(make_pipeline())
    policy = decision_policy(
        pool=pool,
        budget=budget,
        equity_weight=equity_weight,
        equity_given=equity_given,
        months=months,
        champion=champion,
    )
    plan_settings = plan_settings_of(champion)
    district = _read(data, columns)
    with _progress("Decision backtest") as progress:
        result = decision_backtest(
            district,
            make_pipeline,
            engine_planner,
            policy,
            settings=plan_settings,
            n_origins=n_origins,
            scenario_origins=scenario_origins,
            n_jobs=n_jobs,
            progress=progress,
        )
    out.mkdir(parents=True, exist_ok=True)
    result.outcomes.to_csv(out / "decision_outcomes.csv", index=False)
    result.summary.to_csv(out / "decision_summary.csv", index=False)
    plots = write_decision_plots(result, out, simulated=district.simulated)
    print_decision_backtest(result, simulated=district.simulated)
    run_id = log_decision_backtest(
        settings,
        result,
        run_id=champion.run_id if champion is not None else None,
        simulated=district.simulated,
        extra_params={
            "model_version": champion.version if champion is not None else "none",
            "data_fingerprint": district.fingerprint(),
            "scenario_origins": scenario_origins,
        },
    )
    console.print(
        f"Wrote {out / 'decision_outcomes.csv'}, {out / 'decision_summary.csv'} and "
        f"{len(plots)} plot(s) to {out}; logged to MLflow run [bold]{run_id}[/]"
        + (" (the champion's)." if champion is not None else "."),
        highlight=False,
    )
    return result


# -- tune --plans ------------------------------------------------------------------------------
def tune_plans(
    data: Path,
    *,
    columns: Path | None,
    trials: int,
    storage: str | None,
    study: str | None,
    n_origins: int,
    pool: list[str] | None,
    budget: float | None,
    equity_weight: float,
    equity_given: bool,
    scenario_origins: int,
    n_jobs: int | None,
    seed: int,
    tracking_uri: str | None,
) -> dict[str, Any]:
    """``bemanning tune DATA --plans`` (module doc); returns the record stored with the
    champion."""
    from sklearn.base import clone

    from serving.commands.training_common import _progress, _read
    from serving.plan_defaults import engine_planner
    from training.decision_tuning import (
        DEFAULT_PLANS_STUDY,
        PreparedCases,
        tune_plan_settings,
        tuned_record,
    )
    from training.registry import load_champion
    from training.settings import load_settings
    from training.tuned_defaults import store_plan_defaults
    from training.tuning import open_study

    settings = load_settings(tracking_uri)
    champion = load_champion(tracking_uri)  # the settings are stored with it: it must exist
    storage_url = storage or settings.optuna_storage
    study_name = study or DEFAULT_PLANS_STUDY
    open_study(storage_url, study_name, seed=seed)  # fail fast on a bad storage
    policy = decision_policy(
        pool=pool,
        budget=budget,
        equity_weight=equity_weight,
        equity_given=equity_given,
        months=plan_months(champion.pipeline),
        champion=champion,
    )
    district = _read(data, columns)
    with _progress("Refitting at each origin") as progress:
        progress("forecasting", 0, n_origins)
        prepared = PreparedCases.build(
            district,
            lambda: clone(champion.pipeline),
            n_origins=n_origins,
            months=policy.months,
            scenario_origins=scenario_origins,
            n_jobs=n_jobs,
        )
    with _progress(f"Tuning {study_name}") as progress:
        result = tune_plan_settings(
            prepared,
            engine_planner,
            policy,
            n_trials=trials,
            storage=storage_url,
            study_name=study_name,
            seed=seed,
            progress=progress,
        )
    print_study_states(study_name, storage_url, result.trials)
    record = tuned_record(result, prepared, policy)
    store_plan_defaults(settings, champion.version, record)
    default_regret = record.get("default_regret")
    console.print(
        f"Chosen plan settings (trial {record['trial']}): {settings_text(record['settings'])}; "
        f"backtested regret {record['regret']:.3f}"
        + (
            f" (built-in defaults {default_regret:.3f})"
            if isinstance(default_regret, float)
            else ""
        )
        + f" at equity weight {policy.equity_weight:g} over origins "
        f"{', '.join(record['origins'])}.",
        highlight=False,
    )
    console.print(
        f"Stored with champion version [bold]{champion.version}[/]: `bemanning plan` and the "
        "report now plan with them wherever those options are left at their defaults."
    )
    return record


# -- train --promote-on-decisions --------------------------------------------------------------
def promotion_check(
    district: District,
    *,
    pool: list[str] | None,
    budget: float | None,
    equity_weight: float,
    equity_given: bool,
    horizons: int,
    tracking_uri: str | None,
    progress: Callable[[str, int, int], None] | None,
) -> DecisionCheck | None:
    """The decision check ``train`` hands to the promotion, or None when there is no champion
    (a first model is promoted as before: there is nothing to compare its plans with)."""
    from serving.plan_defaults import engine_planner
    from training.decision_promotion import make_decision_check

    champion = load_champion_or_none(tracking_uri)
    if champion is None:
        return None
    months = min(PLAN_MONTHS, horizons, plan_months(champion.pipeline))
    policy = decision_policy(
        pool=pool,
        budget=budget,
        equity_weight=equity_weight,
        equity_given=equity_given,
        months=months,
        champion=champion,
    )
    return make_decision_check(district, engine_planner, policy, progress=progress)


__all__ = [
    "EquityWeightOption",
    "JobsOption",
    "PlansFlag",
    "PromoteOnDecisionsFlag",
    "ScenarioOriginsOption",
    "backtest_plans",
    "decision_policy",
    "print_decision_backtest",
    "promotion_check",
    "settings_text",
    "tune_plans",
    "tuned_defaults_text",
]
