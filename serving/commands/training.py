"""The retraining loop on the command line: ``train``, ``backtest``, ``tune``, ``forecast`` and
``promote``. Heavy libraries (LightGBM, MLflow, Optuna) are imported inside each command."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from serving.plan_options import BudgetOption, PoolsOption

if TYPE_CHECKING:
    from data.contract import District

TargetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        help="Forecast only this target (repeat for several); a target "
        "asked for and absent from the data is an error. Default: every contract "
        "target in the data, absent ones skipped with a warning.",
    ),
]
StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="Optuna storage, any SQLAlchemy URL or journal:PATH (default: "
        "$BEMANNING_OPTUNA_STORAGE or sqlite:///optuna.db; PostgreSQL or a journal file "
        "on a shared file system lets several workers share a study).",
    ),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Address of a dask.distributed scheduler (tcp://HOST:8786) to spread the work "
        "over; default: this machine only. See docs/DISTRIBUTED.md.",
    ),
]
HorizonsOption = Annotated[
    int, typer.Option("--horizons", help="Longest forecast horizon in months (1–24).")
]
LgbmOption = Annotated[
    list[str] | None,
    typer.Option(
        "--lgbm",
        help="Override one LightGBM parameter, KEY=VALUE (repeat), e.g. "
        "--lgbm n_estimators=100 --lgbm num_leaves=15; wins over --study.",
    ),
]


class IntervalMethod(StrEnum):
    """Choices of ``--intervals`` (``ForecastPipeline.interval_method``)."""

    residual = "residual"
    cqr = "cqr"


IntervalsOption = Annotated[
    IntervalMethod,
    typer.Option(
        "--intervals",
        help="How the p05–p95 quantiles are made: cqr = one LightGBM quantile model per "
        "quantile, conformalised (the default); residual = one median model per target plus "
        "conformal quantiles of its scaled out-of-sample residuals (about 2.5× faster; its "
        "intervals adapt only to size and horizon, not to the season).",
    ),
]
CohortOption = Annotated[
    bool | None,
    typer.Option(
        "--cohort-features/--no-cohort-features",
        help="Give the over-3 model the birth cohorts estimated from the totals (who crosses "
        "the age-3 line next August, who leaves for school next July). On by default (the "
        "pipeline's default): over-3 WAPE 2-3 % lower on both simulator families.",
    ),
]
SpanOption = Annotated[
    int,
    typer.Option(
        "--span-months",
        help="Months back from the last month over which the backtest origins are spread.",
    ),
]
StudyOption = Annotated[
    str | None,
    typer.Option(
        "--study",
        help="Optuna study name (tune: default bemanning-lgbm; train: use "
        "the best trial's LightGBM parameters of this study).",
    ),
]


def register(app: typer.Typer) -> None:
    for command in (train, backtest, tune, forecast, promote):
        app.command()(command)


# -- shared helpers ---------------------------------------------------------------------------
def _read(data: Path, columns: Path | None) -> District:
    from data.contract import SIMULATED_LABEL
    from data.validate import read_district

    with console.status("Reading and checking the data…"):
        district = read_district(data, column_mapping=columns)
    if district.simulated:
        console.print(f"[bold yellow]{SIMULATED_LABEL}[/]")
    for problem in district.warnings:
        console.print(f"  [yellow]{problem}[/]", highlight=False, soft_wrap=True)
    return district


@contextmanager
def _progress(title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar driven by ``progress(description, completed, total)`` callbacks;
    Python warnings raised meanwhile (e.g. targets skipped) are printed once afterwards."""
    from serving.progress import progress_bar

    with warnings.catch_warnings(record=True) as caught, progress_bar(console) as bar:
        warnings.simplefilter("always", UserWarning)
        task = bar.add_task(title, total=None)

        def update(description: str, completed: int, total: int) -> None:
            bar.update(
                task, description=f"{title}: {description}", completed=completed, total=total
            )

        yield update
    seen = set()
    for warning in caught:
        text = str(warning.message)
        if (
            issubclass(warning.category, UserWarning)
            and text not in seen
            and "mlflow" not in warning.filename
        ):
            seen.add(text)
            console.print(f"[yellow]warning: {text}[/]", highlight=False)


def _pipeline_params(
    targets: list[str] | None,
    horizons: int,
    lgbm_params: dict[str, Any] | None,
    intervals: IntervalMethod = IntervalMethod.cqr,
    cohort_features: bool | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"horizons": horizons, "interval_method": intervals.value}
    if cohort_features is not None:  # else the pipeline's own default
        params["cohort_features"] = cohort_features
    if targets:
        params["targets"] = tuple(dict.fromkeys(targets))
    if lgbm_params:
        params["lgbm_params"] = dict(lgbm_params)
    return params


def _parse_lgbm(items: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` strings → LightGBM overrides (numbers parsed, all problems at once)."""
    from data.errors import Problem, UserInputError

    params: dict[str, Any] = {}
    problems = []
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            problems.append(Problem(file="--lgbm", rule="must be KEY=VALUE", value=item))
            continue
        value: Any = text.strip()
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        params[key.strip()] = value
    if problems:
        raise UserInputError("bad --lgbm option(s)", problems)
    return params


def _check_targets(targets: list[str] | None) -> None:
    from data.contract import TARGETS
    from data.errors import Problem, UserInputError

    unknown = [t for t in targets or [] if t not in TARGETS]
    if unknown:
        raise UserInputError(
            "unknown target(s)",
            [
                Problem(file="--target", rule=f"must be one of {', '.join(TARGETS)}", value=t)
                for t in unknown
            ],
        )


def _check_positive(**values: int) -> None:
    from data.errors import Problem, UserInputError

    bad = [
        Problem(file=f"--{name}", rule="must be at least 1", value=value)
        for name, value in values.items()
        if value < 1
    ]
    if bad:
        raise UserInputError("bad options", bad)


def _metrics_table(metrics: Any, title: str) -> Any:
    """A Rich table, one row per target × horizon: the target's headline error (WAPE of the
    median; for counts that are mostly zero the MAE of the expected number) of the engine beside
    the seasonal-naive and last-value baselines, then the engine's MASE, pinball loss and 80 %
    interval coverage (every metric is in the written metrics.csv)."""
    from rich import box
    from rich.table import Table

    from training.metrics import RARE_COUNT_TARGETS, headline_metric

    values = ["wape", "mase", "pinball", "coverage_80", "n"]
    values += [m for m in ("mae_mean",) if m in metrics.columns]
    wide = metrics.pivot_table(
        index=["target", "horizon"], columns="model", values=values, aggfunc="first"
    )
    rare = ", ".join(t for t in RARE_COUNT_TARGETS if t in set(metrics["target"]))
    caption = (
        f"error: WAPE of the median; for {rare} (mostly zero) the MAE of the expected number"
        if rare
        else "error: WAPE of the median"
    )
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False)
    headers = ("target", "h", "error", "s-naive", "last", "MASE", "pinball", "cov80", "n")
    for header in headers:
        table.add_column(header, justify="left" if header == "target" else "right", no_wrap=True)
    for (target, horizon), row in wide.iterrows():

        def get(metric: str, model: str = "lightgbm", row: Any = row) -> str:
            return _fmt(row.get((metric, model)))

        error = headline_metric(str(target)) if "mae_mean" in values else "wape"
        table.add_row(
            str(target),
            str(int(horizon)),
            get(error),
            get(error, "seasonal_naive"),
            get(error, "last_value"),
            get("mase"),
            get("pinball"),
            get("coverage_80"),
            get("n").removesuffix(".000"),
        )
    return table


def _print_skipped_targets(
    district: District, *, trained: set[str], asked: list[str] | None
) -> None:
    """Name the contract targets not trained because the data lack them (not those left out
    with --target), so a renamed column does not silently drop a forecast."""
    from data.contract import TARGETS

    monthly = district.monthly
    skipped = [
        t
        for t in TARGETS
        if t not in trained
        and (asked is None or t in asked)
        and (t not in monthly.columns or monthly[t].isna().all())
    ]
    if skipped:
        console.print(
            f"[yellow]Skipped target(s): {', '.join(skipped)}[/] (no column or no values in the "
            "data; `bemanning validate` says what the engine does without them).",
            highlight=False,
        )


def _summary_table(metrics: Any) -> Any:
    """Per target: the engine's metrics over all horizons and its ratio to the best baseline."""
    from rich import box
    from rich.table import Table

    from training.metrics import summary_table

    summary = summary_table(metrics)
    summary = summary[summary["model"] == "lightgbm"]
    table = Table(
        title="Per target, all horizons (× best: against the best baseline at each horizon; "
        "< 1: the engine is better)",
        caption="MAE mean: error of the expected number (for counts that are mostly zero)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    headers = ("target", "error", "value", "× best", "pinball", "× best", "cov80")
    for header in headers:
        table.add_column(
            header, justify="left" if header in ("target", "error") else "right", no_wrap=True
        )
    for row in summary.to_dict("records"):
        # rare counts (mostly zero) are read by the expected number, not a median of 0
        headline = str(row.get("headline", "wape"))
        table.add_row(
            str(row["target"]),
            "MAE mean" if headline == "mae_mean" else "WAPE",
            _fmt(row[headline]),
            _fmt(row[f"{headline}_vs_best_baseline"]),
            _fmt(row["pinball"]),
            _fmt(row["pinball_vs_best_baseline"]),
            _fmt(row["coverage_80"]),
        )
    return table


def _fmt(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if number != number else f"{number:.3f}"


# -- commands ---------------------------------------------------------------------------------
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
            "each adds an origin's working memory). Default: one at a time.",
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
def _tuning_pipeline(base: dict[str, Any], lgbm: dict[str, Any]) -> Any:
    """A trial's pipeline (a module-level function: cluster workers receive it pickled)."""
    from models.forecast.pipeline import ForecastPipeline

    return ForecastPipeline(**base, lgbm_params=lgbm or None)


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
            help="Seed of the TPE sampler, combined with the worker's identity so that "
            "workers of one study never draw the same trials."
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
    base = _pipeline_params(target, horizons, None)
    if cluster is not None:
        with console.status(f"Tuning {study_name} with {workers} worker(s) on {cluster}…"):
            result = tune_on_cluster(
                cluster,
                district,
                workers=workers,
                n_trials=trials,
                storage=storage_url,
                study_name=study_name,
                make_pipeline=partial(_tuning_pipeline, base),
                n_origins=origins,
                seed=seed,
            )
    else:
        with _progress(f"Tuning {study_name}") as progress:
            result = run_tuning(
                district,
                n_trials=trials,
                storage=storage_url,
                study_name=study_name,
                make_pipeline=partial(_tuning_pipeline, base),
                n_origins=origins,
                seed=seed,
                progress=progress,
                worker=worker,
            )
    states: dict[str, int] = {}
    for trial in result.trials:
        states[trial.state.name.lower()] = states.get(trial.state.name.lower(), 0) + 1
    console.print(
        f"Study [bold]{study_name}[/] in {storage_url}: "
        + ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    )
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


@user_errors
def forecast(
    data: DataArgument,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="CSV file for the forecasts (CONTRACT.md "
            "format); the top drivers go beside it as "
            "<name>_drivers.csv.",
        ),
    ] = Path("forecasts.csv"),
    horizon: Annotated[int, typer.Option(help="Months ahead, 1–12.")] = 12,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="MLflow model URI (default: models:/bemanning-needs@champion)."
        ),
    ] = None,
    top: Annotated[int, typer.Option(help="Drivers per forecast row.")] = 5,
    columns: ColumnsOption = None,
    tracking_uri: TrackingOption = None,
) -> None:
    """Forecast every kindergarten and target with the champion model (or --model) and write
    the forecasts and their top drivers (LightGBM feature contributions)."""
    import pandas as pd

    from data.contract import FORECAST_COLUMNS, month_to_str
    from data.errors import Problem, UserInputError
    from models.forecast.fallback import with_fallback
    from serving.i18n import DEFAULT_LANGUAGE
    from serving.words import forecast_source
    from training.registry import load_champion, load_model

    _check_positive(horizon=horizon, top=top)
    if out.suffix.lower() != ".csv":
        raise UserInputError(
            f"--out {out} must be a .csv file",
            [Problem(file="--out", rule="must end in .csv", value=str(out))],
        )
    with console.status("Loading the model…"):
        uri = state_value("mlflow", tracking_uri, data)
        loaded = load_model(model, uri) if model else load_champion(uri)
    console.print(
        f"Model version [bold]{loaded.version}[/] (trained on data {loaded.fingerprint})."
    )
    district = _read(data, columns)
    loaded.check_compatible(district)
    with console.status("Forecasting…"):
        forecasts = loaded.pipeline.predict(district, horizon=horizon)
        drivers = loaded.pipeline.predict_contributions(district, horizon=horizon, top=top)
        # every open kindergarten gets a forecast: the recently opened and the gapped the
        # documented fallback (models/forecast/fallback.py), named in the forecast column
        fallback = with_fallback(
            district,
            forecasts,
            origin=district.last_month,
            horizon=horizon,
            targets=tuple(t for t in loaded.pipeline.targets_ if t in district.monthly.columns),
        )
    forecasts = fallback.forecasts[list(FORECAST_COLUMNS)].copy()
    # a planner opens this file: where each forecast comes from in bokmål (the reasons in
    # detail are printed below)
    forecasts["forecast"] = [
        forecast_source(DEFAULT_LANGUAGE, fallback.reasons.get(k))
        for k in forecasts["kindergarten_id"].astype(str)
    ]
    written = []
    for frame, path in ((forecasts, out), (drivers, out.with_name(f"{out.stem}_drivers.csv"))):
        frame = frame.copy()
        for column in ("origin", "month"):
            frame[column] = month_to_str(frame[column].astype(pd.PeriodDtype("M")))
        if district.simulated:
            frame["simulated"] = True
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        written.append(path)
    for kid, reason in sorted(fallback.reasons.items()):
        console.print(f"[yellow]fallback forecast for {kid} ({reason})[/]", highlight=False)
    console.print(
        f"Wrote {len(forecasts):,} forecasts to {written[0]} and their drivers to "
        f"{written[1]} ({forecasts['kindergarten_id'].nunique()} kindergartens, "
        f"{forecasts['target'].nunique()} targets, horizons 1–{horizon})."
    )
    _write_rare_counts(
        forecasts,
        out.with_name(f"{out.stem}_rare_counts.csv"),
        horizon,
        simulated=district.simulated,
    )


def _write_rare_counts(forecasts: Any, path: Path, horizon: int, *, simulated: bool) -> None:
    """Counts that are mostly zero (staff leavers, § 37 decisions) as a planner reads them:
    expected number over the period and the chance of at least one, per kindergarten."""
    from training.evaluation import rare_count_outlook

    outlook = rare_count_outlook(forecasts)
    if outlook.empty:
        return
    shown = outlook.round({"expected_number": 3, "p_at_least_one": 3})
    if simulated:
        shown["simulated"] = True
    shown.to_csv(path, index=False)
    for target, part in outlook.groupby("target"):
        likely = int((part["p_at_least_one"] >= 0.5).sum())
        console.print(
            f"{target}: {part['expected_number'].sum():.1f} expected over the next {horizon} "
            f"months in all; {likely} of {len(part)} kindergartens at least even odds of one.",
            highlight=False,
        )
    console.print(f"Expected numbers and chances of at least one: {path}", soft_wrap=True)


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
