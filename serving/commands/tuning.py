"""``tune``: the LightGBM parameters tuned with Optuna on backtest folds, here or on a cluster.
Heavy libraries (LightGBM, Optuna) are imported inside the command."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import typer

from serving.commands.common import (
    ColumnsOption,
    DataArgument,
    TrackingOption,
    console,
    print_study_states,
    state_value,
    user_errors,
)
from serving.commands.decisions import (
    DEFAULT_EQUITY_WEIGHT,
    EquityWeightOption,
    JobsOption,
    ScenarioOriginsOption,
)
from serving.commands.training_common import (
    _check_positive,
    _check_targets,
    _pipeline_params,
    _progress,
    _read,
)
from serving.commands.training_options import (
    ClusterOption,
    HorizonsOption,
    StorageOption,
    StudyOption,
    TargetOption,
)
from serving.plan_options import BudgetOption, PoolsOption


def _tuning_pipeline(base: dict[str, Any], lgbm: dict[str, Any]) -> Any:
    """A trial's pipeline (a module-level function: cluster workers receive it pickled)."""
    from models.forecast.pipeline import ForecastPipeline

    return ForecastPipeline(**base, lgbm_params=lgbm or None)


@user_errors
def tune(
    data: DataArgument,
    trials: Annotated[
        int, typer.Option("--trials", help="Trials to run in this worker.", show_default=False)
    ],
    plans: Annotated[
        bool,
        typer.Option(
            "--plans",
            help="Tune the plan settings that are not policy (risk level, tail weight, "
            "scenario spread, steps) on the decision backtest at --equity-weight, and store "
            "the best with the champion as the plan's defaults (study default "
            "bemanning-plans; --origins kindergarten years).",
        ),
    ] = False,
    pool: PoolsOption = None,
    budget: BudgetOption = None,
    equity_weight: EquityWeightOption = DEFAULT_EQUITY_WEIGHT,
    scenario_origins: ScenarioOriginsOption = 3,
    jobs: JobsOption = None,
    tracking_uri: TrackingOption = None,
    storage: StorageOption = None,
    study: StudyOption = None,
    origins: Annotated[
        int,
        typer.Option(help="Backtest origins per trial (folds; a trial is pruned after any fold)."),
    ] = 3,
    horizons: HorizonsOption = 12,
    target: TargetOption = None,
    columns: ColumnsOption = None,
    seed: Annotated[
        int,
        typer.Option(
            min=0,
            help="Seed of the TPE sampler, combined with the worker's identity so that "
            "workers of one study never draw the same trials.",
        ),
    ] = 0,
    worker: Annotated[
        str | None,
        typer.Option(
            "--worker",
            help="This worker's identity (default: host name and process id); the same "
            "--seed and --worker draw the same trials again.",
        ),
    ] = None,
    cluster: ClusterOption = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="With --cluster: tuning workers started on the cluster, sharing --trials.",
            min=1,
        ),
    ] = 2,
) -> None:
    """Tune the LightGBM parameters with Optuna on backtest folds.

    Several workers given the same --storage and --study share one study (an RDB URL, e.g.
    PostgreSQL, or journal:PATH on a shared file system); with --cluster the workers run as
    tasks on a dask.distributed cluster. `bemanning train DATA --study NAME` then trains with
    the best trial's parameters.
    """
    from training.settings import DEFAULT_STUDY_NAME, load_settings
    from training.tuning import LGBM_PARAMS_ATTR, open_study, tune_on_cluster
    from training.tuning import tune as run_tuning

    _check_targets(target)
    _check_positive(trials=trials, origins=origins, horizons=horizons)
    if plans:
        from serving.commands.decisions import tune_plans

        tune_plans(
            data,
            columns=columns,
            trials=trials,
            storage=storage,
            study=study,
            n_origins=origins,
            pool=pool,
            budget=budget,
            equity_weight=equity_weight,
            equity_given=equity_weight != DEFAULT_EQUITY_WEIGHT,
            scenario_origins=scenario_origins,
            n_jobs=jobs,
            seed=seed,
            tracking_uri=tracking_uri,
        )
        return
    settings = load_settings()
    storage_url = state_value("optuna", storage, data) or settings.optuna_storage
    study_name = study or DEFAULT_STUDY_NAME
    open_study(storage_url, study_name, seed=seed, worker=worker)  # fail fast on a bad storage
    district = _read(data, columns)
    study_options: dict[str, Any] = {
        "n_trials": trials,
        "storage": storage_url,
        "study_name": study_name,
        "make_pipeline": partial(_tuning_pipeline, _pipeline_params(target, horizons, None)),
        "n_origins": origins,
        "seed": seed,
    }
    if cluster is not None:
        with console.status(f"Tuning {study_name} with {workers} worker(s) on {cluster}…"):
            result = tune_on_cluster(cluster, district, workers=workers, **study_options)
    else:
        with _progress(f"Tuning {study_name}") as progress:
            result = run_tuning(district, progress=progress, worker=worker, **study_options)
    print_study_states(study_name, storage_url, result.trials)
    try:
        best = result.best_trial
    except ValueError:
        console.print("[yellow]No trial finished: every trial was pruned or failed.[/]")
        return
    console.print(
        f"Best trial {best.number}: loss {best.value:.4f} with "
        f"{best.user_attrs.get(LGBM_PARAMS_ATTR, best.params)}",
        highlight=False,
    )
    console.print(
        f"Use it: bemanning train {data} --study {study_name}"
        + (f" --storage {storage_url}" if storage else "")
    )
