"""The retraining loop on the command line: ``train``, ``backtest`` and ``promote`` here;
``tune`` (serving.commands.tuning) and ``forecast`` (serving.commands.forecasting) registered
with them. Heavy libraries (LightGBM, MLflow, Optuna) are imported inside each command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from serving.commands.common import (
    ColumnsOption,
    DataArgument,
    TrackingOption,
    console,
    state_value,
    user_errors,
)
from serving.commands.decisions import (
    DEFAULT_EQUITY_WEIGHT,
    EquityWeightOption,
    JobsOption,
    PlansFlag,
    PromoteOnDecisionsFlag,
    ScenarioOriginsOption,
)
from serving.commands.forecasting import forecast
from serving.commands.training_common import (
    _check_positive,
    _check_targets,
    _parse_lgbm,
    _pipeline_params,
    _progress,
    _read,
)
from serving.commands.training_options import (
    ClusterOption,
    CohortOption,
    HorizonsOption,
    IntervalMethod,
    IntervalsOption,
    LgbmOption,
    SpanOption,
    StorageOption,
    StudyOption,
    TargetOption,
)
from serving.commands.training_tables import _metrics_table, _print_skipped_targets, _summary_table
from serving.commands.tuning import tune
from serving.plan_options import BudgetOption, PoolsOption


def register(app: typer.Typer) -> None:
    for command in (train, backtest, tune, forecast, promote):
        app.command()(command)


@user_errors
def train(
    data: DataArgument,
    study: StudyOption = None,
    storage: StorageOption = None,
    origins: Annotated[
        int, typer.Option(help="Rolling backtest origins (they decide the promotion).")
    ] = 12,
    span_months: SpanOption = 36,
    horizons: HorizonsOption = 12,
    target: TargetOption = None,
    lgbm: LgbmOption = None,
    intervals: IntervalsOption = IntervalMethod.cqr,
    cohort_features: CohortOption = None,
    promote_on_decisions: PromoteOnDecisionsFlag = False,
    pool: PoolsOption = None,
    budget: BudgetOption = None,
    equity_weight: EquityWeightOption = DEFAULT_EQUITY_WEIGHT,
    columns: ColumnsOption = None,
    tracking_uri: TrackingOption = None,
    processes: Annotated[
        int | None,
        typer.Option(
            help="Backtest origins fitted at a time, in forked processes (the same results; "
            "each adds an origin's working memory). Default: two for data of 300,000 monthly "
            "rows or more (a nation) on two cores or more, else one.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Backtest and train the forecast models, track the run in MLflow and register the model.

    The new version gets the alias challenger; it becomes champion when it is the first model
    or its backtest beats the champion's on the same data (the reason is printed); with
    --promote-on-decisions it must also plan at least as well on the decision backtest.
    """
    from training.retrain import train_and_register
    from training.settings import load_settings
    from training.tracking import check_tracking_server
    from training.tracking_loss import tracked_train

    _check_targets(target)
    _check_positive(
        origins=origins,
        **{"span-months": span_months, "horizons": horizons},
        **({} if processes is None else {"processes": processes}),
    )
    overrides = _parse_lgbm(lgbm)
    settings = load_settings(state_value("mlflow", tracking_uri, data))
    check_tracking_server(settings)  # before any fitting: nothing half-done if it is down
    lgbm_params: dict[str, Any] = {}
    run_params: dict[str, Any] = {}
    if study:
        from training.tuning import best_lgbm_params

        lgbm_params, record = best_lgbm_params(
            state_value("optuna", storage, data) or settings.optuna_storage, study
        )
        run_params = {f"tuning.{k}": v for k, v in record.items()}
        console.print(
            f"LightGBM parameters from study [bold]{study}[/], trial "
            f"{record['trial']} (loss {record['loss']:.4f})."
        )
    lgbm_params.update(overrides)
    district = _read(data, columns)
    with tracked_train(settings) as notes, _progress("Training") as progress:
        for note in notes:
            console.print(f"[yellow]Tracking server back:[/] {note}.")
        decision_check = None
        if promote_on_decisions:
            from serving.commands.decisions import promotion_check

            decision_check = promotion_check(
                district,
                pool=pool,
                budget=budget,
                equity_weight=equity_weight,
                equity_given=equity_weight != DEFAULT_EQUITY_WEIGHT,
                horizons=horizons,
                tracking_uri=tracking_uri,
                progress=progress,
            )
        outcome = train_and_register(
            district,
            settings,
            pipeline_params=_pipeline_params(
                target, horizons, lgbm_params, intervals, cohort_features
            ),
            n_origins=origins,
            span_months=span_months,
            run_params=run_params,
            progress=progress,
            decision_check=decision_check,
            **({} if processes is None else {"backtest_processes": processes}),
        )
    console.print(_summary_table(outcome.metrics))
    _print_skipped_targets(district, trained=set(outcome.metrics["target"]), asked=target)
    console.print(
        f"Run [bold]{outcome.run_id}[/] logged to {settings.tracking_uri}; "
        f"data fingerprint {outcome.fingerprint}."
    )
    console.print(
        f"Registered [bold]{settings.registered_model_name}[/] version "
        f"[bold]{outcome.version}[/] as challenger."
    )
    if outcome.champion_rebacktested:
        console.print(
            "The champion was trained on other data: its configuration was "
            "backtested again on this data for a fair comparison."
        )
    verdict = (
        "[bold green]Promoted to champion[/]"
        if outcome.decision.promote
        else "[bold yellow]Not promoted[/]"
    )
    console.print(f"{verdict}: {outcome.decision.reason}", highlight=False)


@user_errors
def backtest(
    data: DataArgument,
    origins: Annotated[
        int | None,
        typer.Option(
            help="Rolling origins, spread over the last --span-months (default 12); with "
            "--plans, kindergarten years planned (default 3).",
            show_default=False,
        ),
    ] = None,
    span_months: SpanOption = 36,
    horizons: HorizonsOption = 12,
    out: Annotated[
        Path,
        typer.Option("--out", help="Folder for the metrics table, the predictions and the plots."),
    ] = Path("backtest"),
    target: TargetOption = None,
    lgbm: LgbmOption = None,
    intervals: IntervalsOption = IntervalMethod.cqr,
    cohort_features: CohortOption = None,
    plans: PlansFlag = False,
    pool: PoolsOption = None,
    budget: BudgetOption = None,
    equity_weight: EquityWeightOption = DEFAULT_EQUITY_WEIGHT,
    scenario_origins: ScenarioOriginsOption = 3,
    jobs: JobsOption = None,
    columns: ColumnsOption = None,
    tracking_uri: TrackingOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Rolling-origin backtest against the seasonal-naive and last-value baselines.

    Prints the metrics per target × horizon (WAPE, MASE, pinball loss, interval coverage) and
    writes them, the predictions and the plots to --out. With --plans: the decision backtest
    (regret, VSS and EVPI per past kindergarten year), logged with the champion's run.
    """
    from models.forecast.pipeline import ForecastPipeline
    from training.needs_model import parquet_safe
    from training.retrain import run_backtest, write_backtest_plots

    _check_targets(target)
    if origins is None:
        origins = 3 if plans else 12
    _check_positive(origins=origins, **{"span-months": span_months, "horizons": horizons})
    params = _pipeline_params(target, horizons, _parse_lgbm(lgbm), intervals, cohort_features)
    if plans:
        from serving.commands.decisions import backtest_plans

        backtest_plans(
            data,
            columns=columns,
            make_fallback_pipeline=lambda: ForecastPipeline(**params),
            n_origins=origins,
            pool=pool,
            budget=budget,
            equity_weight=equity_weight,
            equity_given=equity_weight != DEFAULT_EQUITY_WEIGHT,
            scenario_origins=scenario_origins,
            n_jobs=jobs,
            out=out,
            tracking_uri=tracking_uri,
        )
        return
    district = _read(data, columns)
    with _progress("Backtesting") as progress:
        result = run_backtest(
            district,
            lambda: ForecastPipeline(**params),
            n_origins=origins,
            span_months=span_months,
            progress=progress,
            cluster=cluster,
        )
    out.mkdir(parents=True, exist_ok=True)
    parquet_safe(result.metrics).to_csv(out / "metrics.csv", index=False)
    parquet_safe(result.predictions).to_csv(out / "predictions.csv", index=False)
    with console.status("Drawing the plots…"):
        plots = write_backtest_plots(result, district, out)
    label = " — SIMULATED data" if district.simulated else ""
    console.print(
        _metrics_table(result.metrics, f"Backtest over {len(result.origins)} origins{label}")
    )
    console.print(_summary_table(result.metrics))
    console.print(
        f"Wrote {out / 'metrics.csv'}, {out / 'predictions.csv'} and {len(plots)} plot(s) to {out}."
    )


@user_errors
def promote(
    version: Annotated[
        str, typer.Argument(help="Model version to make champion.", show_default=False)
    ],
    reason: Annotated[
        str, typer.Option(help="Why (recorded on the model version).")
    ] = "promoted by hand",
    tracking_uri: TrackingOption = None,
) -> None:
    """Make a registered model version the champion, whatever its backtest; who, when and why
    are recorded as tags of the version."""
    from training.registry import promote as promote_version
    from training.settings import load_settings

    settings = load_settings(state_value("mlflow", tracking_uri, None))
    promote_version(version, reason, forced=True, tracking_uri=settings.tracking_uri)
    console.print(
        f"Version [bold]{version}[/] of {settings.registered_model_name} is now "
        f"champion (reason recorded: {reason!r}).",
        highlight=False,
    )
