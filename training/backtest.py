"""Rolling-origin backtests: refit at each origin on data up to it, forecast, score against what
happened, beside the baselines.

Origins are spread evenly over the last ``span_months`` months before the data's last month
(default 12 origins over 3 years: every third month), so every season and both sides of an
August intake are scored. At origin t the pipeline sees only ``as_of(district, t)``; horizons
whose target month lies beyond the data are not scored.
"""

from __future__ import annotations

import gc
import multiprocessing
import sys
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from data.contract import FORECAST_COLUMNS, KINDERGARTEN_ID, MONTH, TARGETS, District
from models.forecast import BASELINES, ForecastPipeline
from models.forecast.inputs import as_of
from training.memory import release_freed_memory
from training.metrics import metric_sums, metrics_from_sums, seasonal_naive_scale, summary_table

Progress = Callable[[str, int, int], None]
MODEL_NAME = "lightgbm"


@dataclass
class BacktestResult:
    """``predictions``: FORECAST_COLUMNS + actual, model ("lightgbm" | "seasonal_naive" |
    "last_value", those kept) and mase_scale; ``metrics``: training.metrics.METRIC_COLUMNS per
    target × horizon × model, every model; ``origins`` the origins scored; ``seconds`` fit +
    forecast time per model."""

    predictions: pd.DataFrame
    metrics: pd.DataFrame
    origins: list[pd.Period] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        return summary_table(self.metrics)


def backtest_origins(
    last_month: pd.Period, *, n_origins: int, span_months: int, min_gap: int = 1
) -> list[pd.Period]:
    """``n_origins`` origins evenly spaced over (last − span, last − min_gap], oldest first."""
    if n_origins < 1 or span_months < n_origins:
        raise ValueError(f"need 1 ≤ n_origins ≤ span_months, got {n_origins}, {span_months}")
    step = span_months / n_origins
    offsets = sorted(
        {max(min_gap, round(span_months - i * step)) for i in range(n_origins)}, reverse=True
    )
    return [last_month - int(o) for o in offsets]


def _actuals(district: District, targets: Sequence[str]) -> pd.DataFrame:
    """kindergarten, month, target, actual (float) of every recorded value of ``targets``."""
    wide = district.monthly[[KINDERGARTEN_ID, MONTH, *targets]].astype(
        dict.fromkeys(targets, float)  # counts (int or nullable) and rates in one column
    )
    long = wide.melt(id_vars=[KINDERGARTEN_ID, MONTH], var_name="target", value_name="actual")
    return long.dropna(subset=["actual"])


def _origin_fold(
    district: District,
    make_pipeline: Callable[[], ForecastPipeline],
    origin: pd.Period,
    *,
    last: pd.Period,
    horizons: int,
    targets: Sequence[str] | None,
    baselines: bool,
    n_jobs: int | None = None,
) -> tuple[list[pd.DataFrame], dict[str, float]]:
    """One origin's forecasts (the model's, then the baselines') and seconds per model;
    ``n_jobs`` overrides the pipeline's threads (the same forecasts)."""
    known = as_of(district, origin)
    pipeline = make_pipeline()
    if targets is not None:
        pipeline.set_params(targets=list(targets))
    if n_jobs is not None:
        pipeline.set_params(n_jobs=n_jobs)
    horizon = min(horizons, pipeline.horizons, int((last - origin).n))
    started = time.perf_counter()
    forecasts = pipeline.fit_predict(known, horizon=horizon)
    seconds = {MODEL_NAME: time.perf_counter() - started}
    scales = seasonal_naive_scale(known, pipeline.targets_)
    parts = [forecasts.assign(model=MODEL_NAME)]
    if baselines:
        for name, baseline in BASELINES.items():
            started = time.perf_counter()
            model = baseline(targets=pipeline.targets_, horizons=pipeline.horizons)
            out = model.fit(known).predict(known, horizon=horizon, origin=origin)
            seconds[name] = time.perf_counter() - started
            parts.append(out.assign(model=name))
    for part in parts:
        part["mase_scale"] = part["target"].map(scales)
        _share_labels(part)
    return parts, seconds


#: text columns of a fold's forecasts with few distinct values repeated on every row
_LABEL_COLUMNS = (KINDERGARTEN_ID, "target", "model")


def _share_labels(part: pd.DataFrame) -> None:
    """Every row of a label column pointing at one string per distinct value (a category's),
    not a string object of its own: twelve origins × three models of a city's forecasts are
    millions of rows, and their own copies of the same few thousand ids were most of the
    backtest's memory. Values and dtype (object) stay as they were."""
    for column in _LABEL_COLUMNS:
        part[column] = part[column].astype("category").astype(object)


def _folds_on_cluster(
    cluster: str,
    fold: Callable[[pd.Period], tuple[list[pd.DataFrame], dict[str, float]]],
    origins: list[pd.Period],
) -> list[tuple[list[pd.DataFrame], dict[str, float]]]:
    """Every origin's fold on the dask cluster at ``cluster`` (joblib's Dask backend), in
    origin order."""
    from joblib import Parallel, delayed, parallel_config

    from training.distributed import cluster_client

    with cluster_client(cluster) as client, parallel_config(backend="dask", client=client):
        return list(Parallel(n_jobs=-1)(delayed(fold)(origin) for origin in origins))


#: the fold a forked worker runs: inherited through ``fork``, as a closure (a train's pipeline
#: factory) cannot be pickled to a worker
_FORKED_FOLD: Callable[[pd.Period], Any] | None = None


def _start_forked_worker() -> None:
    """A worker writes to the process's own streams: the parent's may be a progress display's
    proxies, whose lock a thread of the parent could have held at the fork. The objects it
    inherits are left out of its garbage collections (``gc.freeze`` only relinks the lists):
    a collection writes to every object it visits, which would copy the parent's pages (its
    imports and data) into the worker."""
    gc.freeze()
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def _run_forked_fold(origin: pd.Period) -> Any:
    assert _FORKED_FOLD is not None, "only in a worker forked by _folds_in_processes"
    return _FORKED_FOLD(origin)


def _folds_in_processes(
    fold: Callable[[pd.Period], Any], origins: list[pd.Period], processes: int
) -> Iterator[Any]:
    """Every origin's fold in ``processes`` forked worker processes, in origin order, as each
    is done. Forked, the workers share the parent's data and imports page for page instead of
    a copy each; a fresh worker per fold gives its memory back when the fold ends."""
    global _FORKED_FOLD
    _FORKED_FOLD = fold
    # what the parent no longer uses is not handed to the workers (reading the data left
    # several hundred megabytes of the nation's freed but held by malloc)
    gc.collect()
    release_freed_memory()
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(processes, _start_forked_worker, maxtasksperchild=1) as pool:
            yield from pool.imap(_run_forked_fold, origins)
    finally:
        _FORKED_FOLD = None


def _scored(
    actuals: ActualLookup, parts: list[pd.DataFrame], keep_predictions: Collection[str] | None
) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """A fold's forecasts with their actual values: those of the models in ``keep_predictions``
    (``None``: every model) and every model's metric sums (:func:`training.metrics.metric_sums`)."""
    kept, sums = [], []
    for part in parts:
        # each row's actual value looked up in place (a merge would copy every row again)
        part.insert(len(FORECAST_COLUMNS), "actual", actuals.at(part))
        sums.append(metric_sums(part))
        if keep_predictions is None or part["model"].iat[0] in keep_predictions:
            kept.append(part)
    return kept, pd.concat(sums, ignore_index=True)


def _scored_fold(
    fold: Callable[[pd.Period], tuple[list[pd.DataFrame], dict[str, float]]],
    actuals: ActualLookup,
    keep_predictions: Collection[str] | None,
    origin: pd.Period,
) -> tuple[list[pd.DataFrame], pd.DataFrame, dict[str, float]]:
    """One origin's fold scored where it ran: a forked worker sends back the kept forecasts and
    the metric sums only, not every model's forecasts (at the nation a fold's three models are
    1.2 million rows, pickled in the worker and unpickled in the parent)."""
    parts, seconds = fold(origin)
    return (*_scored(actuals, parts, keep_predictions), seconds)


def rolling_origin_backtest(
    district: District,
    make_pipeline: Callable[[], ForecastPipeline],
    *,
    n_origins: int = 12,
    span_months: int = 36,
    horizons: int = 12,
    targets: Sequence[str] | None = None,
    progress: Progress | None = None,
    baselines: bool = True,
    cluster: str | None = None,
    keep_predictions: Collection[str] | None = None,
    processes: int = 1,
) -> BacktestResult:
    """Refit ``make_pipeline()`` at each origin on data ≤ origin; score 1 … ``horizons`` months.

    ``targets`` overrides the pipeline's targets; ``baselines`` runs seasonal naive and last
    value beside it on the same origins. ``cluster`` (a dask scheduler address) fits the
    origins on that cluster through joblib's Dask backend; each origin is fitted exactly as
    here, so the predictions are the same. ``keep_predictions``: the models whose predictions
    the result holds (``None``: every model); the others' are scored fold by fold and let go,
    their metrics the same (a nation's twelve origins of baselines were 0.9 GiB held to the
    end for their metrics alone). ``processes`` > 1 fits that many origins at a time in forked
    processes (Linux), each pipeline on one thread: the same predictions. A fold's work is
    partly single-threaded (the feature table, the targets' derived features), so on two cores
    two origins at a time keep both busy; each worker adds a fold's working set to memory.
    """
    last = district.monthly[MONTH].max()
    origins = backtest_origins(last, n_origins=n_origins, span_months=span_months)
    fold = partial(
        _origin_fold,
        district,
        make_pipeline,
        last=last,
        horizons=horizons,
        targets=targets,
        baselines=baselines,
        n_jobs=1 if processes > 1 and cluster is None else None,
    )
    actuals = _actual_lookup(district)
    kept: list[pd.DataFrame] = []
    sums: list[pd.DataFrame] = []
    seconds: dict[str, float] = {MODEL_NAME: 0.0}

    def add(parts: list[pd.DataFrame], fold_sums: pd.DataFrame, spent: dict[str, float]) -> None:
        kept.extend(parts)
        sums.append(fold_sums)
        for name, value in spent.items():
            seconds[name] = seconds.get(name, 0.0) + value

    scored_fold = partial(_scored_fold, fold, actuals, keep_predictions)
    if cluster is None:
        if processes > 1 and len(origins) > 1:
            results = _folds_in_processes(scored_fold, origins, processes)
        else:
            results = map(scored_fold, origins)
        for i, (origin, result) in enumerate(zip(origins, results, strict=True)):
            add(*result)
            release_freed_memory()  # the fold's refit leaves its memory held, not used
            if progress is not None:
                progress(f"origin {origin}", i + 1, len(origins))
    else:
        for parts, fold_seconds in _folds_on_cluster(cluster, fold, origins):
            add(*_scored(actuals, parts, keep_predictions), fold_seconds)
        if progress is not None:
            progress(f"{len(origins)} origins on {cluster}", len(origins), len(origins))
    del actuals, scored_fold
    predictions = stacked(kept, [*FORECAST_COLUMNS, "actual", "model", "mase_scale"])
    release_freed_memory()
    return BacktestResult(predictions, metrics_from_sums(pd.concat(sums)), origins, seconds)


def stacked(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """``pd.concat(parts, ignore_index=True)[columns]``, stacked one column at a time and each
    column taken out of the parts once stacked (the parts are emptied): the parts and their
    stack are never held whole at the same time. The city's train peaked here, when twelve
    origins × three models of forecasts were held twice."""
    columns_of: dict[str, pd.Series] = {}
    for column in columns:
        columns_of[column] = pd.concat([part.pop(column) for part in parts], ignore_index=True)
    return pd.DataFrame(columns_of, copy=False)  # the stacked columns as they are, no copy


@dataclass(frozen=True)
class ActualLookup:
    """Every recorded value of the district's targets as one dense array, kindergarten × month
    × target (NaN where not recorded), built once for all folds: at the nation 5,500 × 118 × 6
    values, 31 MB, where a table indexed by kindergarten, month and target was several times
    that with its hash table, and each fold's lookup hashed 1.2 million keys."""

    kindergartens: pd.Index
    first_month: int  # the months' ordinal of values[:, 0]
    targets: dict[str, int]
    values: np.ndarray

    def at(self, predictions: pd.DataFrame) -> np.ndarray:
        """What happened at each forecast row's kindergarten, month and target (NaN where not
        known yet or not recorded), in the rows' order: the values a left merge would add."""
        k = self.kindergartens.get_indexer(pd.Index(predictions[KINDERGARTEN_ID]))
        m = pd.PeriodIndex(predictions[MONTH]).asi8 - self.first_month
        t = predictions["target"].map(self.targets).fillna(-1).to_numpy(int)
        inside = (k >= 0) & (m >= 0) & (m < self.values.shape[1]) & (t >= 0)
        out = np.full(len(predictions), np.nan)
        out[inside] = self.values[k[inside], m[inside], t[inside]]
        return out


def _actual_lookup(district: District) -> ActualLookup:
    """The district's recorded target values as an :class:`ActualLookup`."""
    monthly = district.monthly
    targets = [t for t in TARGETS if t in monthly.columns]
    kindergartens = pd.Index(pd.unique(monthly[KINDERGARTEN_ID]))
    months = pd.PeriodIndex(monthly[MONTH]).asi8
    first = int(months.min()) if len(months) else 0
    n_m = int(months.max()) - first + 1 if len(months) else 0
    values = np.full((len(kindergartens), n_m, len(targets)), np.nan)
    k = kindergartens.get_indexer(pd.Index(monthly[KINDERGARTEN_ID]))
    for i, target in enumerate(targets):
        values[k, months - first, i] = monthly[target].to_numpy(float, na_value=np.nan)
    return ActualLookup(kindergartens, first, {t: i for i, t in enumerate(targets)}, values)
