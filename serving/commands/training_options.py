"""The options the retraining commands (``train``, ``backtest``, ``tune``) share, declared once."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

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
