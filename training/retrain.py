"""One turn of the retraining loop: backtest, fit, log, register as challenger, maybe promote.

Order matters: the tracking server is checked before any fitting; the model version is
registered only after the run has logged everything; the champion alias moves only after the
challenger's backtest beats the champion's on the same data (:mod:`training.promotion`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from data.contract import District
from training.decision_promotion import DecisionCheck
from training.memory import bound_heap, release_freed_memory
from training.promotion import PromotionDecision, decide_promotion
from training.settings import TrainingSettings

#: ``progress(description, completed, total)``
Progress = Callable[[str, int, int], None]
DEFAULT_ORIGINS = 12
DEFAULT_SPAN_MONTHS = 36
#: monthly rows from which a train fits two backtest origins at a time by default
#: (:func:`default_backtest_processes`)
FORKED_ORIGINS_FROM_ROWS = 300_000


def default_backtest_processes(district: District) -> int:
    """Backtest origins a train fits at a time (:func:`training.backtest.rolling_origin_backtest`)
    unless told: two, in forked processes, for data of :data:`FORKED_ORIGINS_FROM_ROWS` monthly
    rows or more (a nation's 607,000) on a machine with two cores or more; else one.

    One process keeps about 1.3 of two cores busy (a fold's feature table and frames are
    single-threaded), so a nation's train (12 origins) was about 5.6 minutes one origin at a
    time; two at a time its folds keep both cores busy (benchmarks/README.md, 2026-12-07:
    295 s of CPU in all, the process tree's peak 3.32 GiB). Each worker adds a fold's working
    set (1.2–1.5 GiB at the nation), so not more than two. A city's (77,000 rows) folds take
    seconds, and its train stays under 1 GiB in one process only."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 if len(district.monthly) >= FORKED_ORIGINS_FROM_ROWS and (cores or 1) >= 2 else 1


@dataclass
class TrainOutcome:
    run_id: str
    version: str
    fingerprint: str
    decision: PromotionDecision
    metrics: pd.DataFrame
    champion_rebacktested: bool = False
    notes: list[str] = field(default_factory=list)


def feature_importance_table(pipeline: Any) -> pd.DataFrame:
    """Gain importance of the median booster per target (and horizon for direct models), as
    ``target, horizon, feature, gain, share``; horizon 0 = the stacked model of all horizons.
    A target whose median is its base (no median booster) has no rows."""
    rows = []
    for target, models in pipeline.models_.items():
        for horizon, regressor in models.items():
            if not regressor.has_median_booster:
                continue
            # a target fitted apart before and after the August shift has a booster per side:
            # their gains summed per feature
            boosters = regressor.boosters_nearest(0.5)
            names = boosters[0].feature_name()
            gains = sum(b.feature_importance(importance_type="gain") for b in boosters)
            total = float(gains.sum()) or 1.0
            for name, gain in zip(names, gains, strict=True):
                rows.append(
                    {
                        "target": target,
                        "horizon": int(horizon),
                        "feature": name,
                        "gain": float(gain),
                        "share": float(gain) / total,
                    }
                )
    table = pd.DataFrame(rows, columns=["target", "horizon", "feature", "gain", "share"])
    return table.sort_values(
        ["target", "horizon", "gain"], ascending=[True, True, False], ignore_index=True
    )


def run_backtest(
    district: District,
    make_pipeline: Callable[[], Any],
    *,
    n_origins: int,
    span_months: int = DEFAULT_SPAN_MONTHS,
    progress: Progress | None = None,
    cluster: str | None = None,
    keep_predictions: Collection[str] | None = None,
    processes: int = 1,
) -> Any:
    """The rolling-origin backtest of :mod:`training.backtest` with this loop's settings
    (on the dask cluster at ``cluster`` when given; the predictions of ``keep_predictions``
    only, every model's metrics)."""
    from training.backtest import rolling_origin_backtest

    return rolling_origin_backtest(
        district,
        make_pipeline,
        n_origins=n_origins,
        span_months=span_months,
        progress=progress,
        cluster=cluster,
        keep_predictions=keep_predictions,
        processes=processes,
    )


def train_and_register(
    district: District,
    settings: TrainingSettings,
    *,
    pipeline_params: Mapping[str, Any],
    n_origins: int = DEFAULT_ORIGINS,
    span_months: int = DEFAULT_SPAN_MONTHS,
    run_params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    min_improvement: float = 0.0,
    decision_check: DecisionCheck | None = None,
    backtest_processes: int | None = None,
) -> TrainOutcome:
    """Backtest and fit a ``ForecastPipeline(**pipeline_params)``, log it, register it as
    ``challenger`` and promote it to ``champion`` when it wins (see module doc). With
    ``decision_check`` (:func:`training.decision_promotion.make_decision_check`) a challenger
    that forecasts better must also plan at least as well on the decision backtest.
    ``backtest_processes``: origins fitted at a time (default
    :func:`default_backtest_processes`)."""
    from sklearn.base import clone

    from data.errors import UserInputError
    from models.forecast.pipeline import ForecastPipeline
    from models.forecast.quantile_lgbm import TARGET_LGBM_PARAMS
    from training.backtest import MODEL_NAME
    from training.registry import load_champion, promote
    from training.tracking import check_tracking_server, log_training_run, register_version

    check_tracking_server(settings)
    bound_heap()  # a backtest's refits would otherwise leave the heap ever larger
    try:
        champion = load_champion(settings.tracking_uri)
    except UserInputError:
        champion = None

    def make_pipeline() -> ForecastPipeline:
        return ForecastPipeline(**dict(pipeline_params))

    # the model's predictions are the forecast history the plans and promotion read; the
    # baselines' are needed for their metrics only
    backtest = run_backtest(
        district,
        make_pipeline,
        n_origins=n_origins,
        span_months=span_months,
        progress=progress,
        keep_predictions=(MODEL_NAME,),
        processes=backtest_processes or default_backtest_processes(district),
    )
    release_freed_memory()
    pipeline = make_pipeline().fit(district, progress=progress)
    release_freed_memory()
    fingerprint = district.fingerprint()
    params = {
        **{k: v for k, v in pipeline.get_params().items() if k != "lgbm_params"},
        **{f"lgbm.{k}": v for k, v in (pipeline_params.get("lgbm_params") or {}).items()},
        # per-target defaults the lgbm.* overrides above are applied on top of
        "lgbm.target_defaults": TARGET_LGBM_PARAMS,
        "backtest.origins": n_origins,
        "backtest.span_months": span_months,
        **(run_params or {}),
    }
    with tempfile.TemporaryDirectory(prefix="bemanning-plots-") as tmp:
        plots = write_backtest_plots(backtest, district, Path(tmp))
        logged = log_training_run(
            settings,
            pipeline=pipeline,
            district=district,
            params=params,
            backtest_metrics=backtest.metrics,
            backtest_predictions=backtest.predictions,
            feature_importances=feature_importance_table(pipeline),
            plots=plots,
        )
    version = register_version(settings, logged)
    release_freed_memory()

    champion_predictions, rebacktested = None, False
    # a champion this engine cannot forecast with is replaced, not compared (nor backtested again)
    # (its own parameters decide which of the engine's features it was built with)
    unusable = champion.pipeline.targets_on_other_features(district) if champion else []
    if champion is not None and not unusable:
        if champion.fingerprint == fingerprint and champion.pit_history is not None:
            champion_predictions = champion.pit_history
        else:  # other data: the champion's configuration, backtested on this data
            rebacktested = True
            champion_predictions = run_backtest(
                district,
                lambda: clone(champion.pipeline),
                n_origins=n_origins,
                span_months=span_months,
                progress=progress,
                keep_predictions=(MODEL_NAME,),
            ).predictions
    decision = decide_promotion(
        backtest.predictions,
        champion_predictions,
        challenger_version=version,
        champion_version=champion.version if champion is not None else None,
        min_improvement=min_improvement,
        champion_unusable=unusable,
    )
    if decision_check is not None and decision.promote and champion is not None and not unusable:
        decision = decision_check(decision, champion, make_pipeline)
    _record_decision(settings, version, decision)
    if decision.promote:
        promote(
            version,
            decision.reason,
            forced=False,
            who="bemanning train",
            tracking_uri=settings.tracking_uri,
        )
    return TrainOutcome(
        run_id=logged.run_id,
        version=version,
        fingerprint=fingerprint,
        decision=decision,
        metrics=backtest.metrics,
        champion_rebacktested=rebacktested,
    )


def write_backtest_plots(backtest: Any, district: District, folder: Path) -> dict[str, Path]:
    """Fan charts and the calibration curve of a backtest as PNG files in ``folder``."""
    from training.plots import write_backtest_plots as write

    return dict(write(backtest, district, folder))


def _record_decision(settings: TrainingSettings, version: str, decision: PromotionDecision) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(settings.tracking_uri)
    name = settings.registered_model_name
    client.set_model_version_tag(
        name, version, "promotion_decision", "promoted" if decision.promote else "kept challenger"
    )
    client.set_model_version_tag(name, version, "promotion_decision_reason", decision.reason)
    if decision.challenger is not None:
        client.set_model_version_tag(
            name, version, "backtest_loss", f"{decision.challenger.loss:.6f}"
        )


def fit_and_promote_untested(
    district: District, *, tracking_uri: str, pipeline_params: dict[str, Any], purpose: str
) -> str:
    """Fit a pipeline, log it, register it and force it to champion WITHOUT a backtest; returns
    the version. For test fixtures and benchmarks that need a champion quickly — the team's loop
    (:func:`train_and_register`) promotes only on a backtest."""
    from models.forecast.pipeline import ForecastPipeline
    from training.registry import promote
    from training.settings import load_settings
    from training.tracking import log_training_run, register_version

    pipeline = ForecastPipeline(**pipeline_params).fit(district)
    settings = load_settings(tracking_uri)
    logged = log_training_run(
        settings,
        pipeline=pipeline,
        district=district,
        params={"purpose": purpose},
        backtest_metrics=None,
        backtest_predictions=None,
    )
    version = register_version(settings, logged)
    promote(version, purpose, tracking_uri=tracking_uri)
    return version
