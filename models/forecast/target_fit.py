"""One target's fit in a :class:`~models.forecast.pipeline.ForecastPipeline`: its frames built
once for both rounds, the calibration round's boosters and conformal corrections, then the final
round's boosters; targets side by side in threads.

The pipeline's parameters (strategy, sampling, LightGBM settings) are read from the pipeline
passed in; what is fitted is returned, not stored on it."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from data.errors import Problem, UserInputError
from models.forecast import august_split
from models.forecast.august_split import AugustSplitRegressor, can_split
from models.forecast.forecasting import target_origin_frames
from models.forecast.frames import MEDIAN_ONLY_FEATURES, HorizonFrame, horizon_rows, rows_where
from models.forecast.inputs import FeatureInputs
from models.forecast.quantile_lgbm import (
    DEFAULT_TAIL_LGBM_PARAMS,
    TARGET_LGBM_PARAMS,
    TARGET_UNUSED_FEATURES,
    QuantileLGBMRegressor,
    lgbm_params,
)
from models.forecast.row_choice import (
    calibration_sample,
    chunks,
    group_frames,
    pair_where,
    sample_masks,
)

if TYPE_CHECKING:
    from models.forecast.pipeline import ForecastPipeline

#: Rows of the calibration round's forecasts built and scored at once. The corrections are per
#: horizon, so the horizons go in groups up to this many rows: all twelve at once were, at the
#: nation (5,500 kindergartens × 12 calibration origins), 0.24 GB of features per target held
#: with their stacked and column-selected copies, in each of the two targets' threads. A
#: district's or a city's twelve horizons stay one group.
CALIBRATION_CHUNK_ROWS = 200_000

#: Per target, the calibration round's share of its median's rounds where it differs from the
#: pipeline's ``calibration_rounds_share`` (``ForecastPipeline(target_calibration_rounds_share=…)``
#: overrides it). Sick leave: a quarter (25 rounds at 0.4 against the final round's 100 at 0.1)
#: since 2026-12-07 (issue 17, fit + forecast time; helper speed6): its median, the largest
#: booster of a fit, is the forecast only in the final round, which is not changed. On the tuning
#: seeds of both simulator families (4 rolling origins; WAPE pooled over seeds 1.000 × half the
#: rounds on both seed sets) 80 % coverage half → a quarter: seeds 1–3 cohort 0.821 → 0.821,
#: capacity 0.805 → 0.803; seeds 4–6 0.817 → 0.814, 0.793 → 0.793; the interval score 0.998–1.000
#: ×. An eighth (13 rounds at 0.8): capacity seeds 4–6 0.793 → 0.787, interval score 1.001 ×
#: (benchmarks/README.md, 2026-12-07). About 25 boosting rounds of 42 columns less per fit.
TARGET_CALIBRATION_ROUNDS_SHARE: dict[str, float] = {"sick_leave_rate": 0.25}


@dataclass(frozen=True)
class TargetFit:
    """One target's fit: the final round's models, the calibration round's conformal
    corrections and residual correlations per horizon, and, when a forecast was asked for,
    the frames at its origin and the final boosters' output for them."""

    target: str
    models: dict[int, Any]
    corrections: dict[str, dict]
    correlations: dict[str, float]
    forecast: tuple[list[HorizonFrame], Sequence[np.ndarray | None]] | None = None


def fit_targets(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    targets: Sequence[str],
    cutoff: int,
    last_index: int,
    forecast: tuple[pd.Period, int] | None = None,
    while_waiting: Callable[[], None] | None = None,
) -> Iterator[TargetFit]:
    """Each target's fit, as each finishes; ``forecast`` = (origin, horizon): also the final
    boosters' output for the frames from that origin; ``while_waiting`` is called once in this
    thread when every target's rounds are handed to the workers (work the fit needs that
    reads no fitted model: done there, it fills a core the last rounds leave idle instead of
    adding to the time after them).

    The work is split in two kinds. Building a target's frames (and the forecast's) is numpy in
    many small steps that hold Python's lock; it runs in this thread, one target after another.
    Each target's two rounds — the calibration round with the predictions it is scored on, and
    the final round with the forecast's predictions — are LightGBM, which releases the lock
    while it bins, boosts and predicts; they go to ``n_jobs`` worker threads as soon as the
    target's frames are built, the targets with the most boosting first, so the workers boost
    while the frames of the next target are built and the two rounds of the last target fill
    both cores at the end. (A target's rounds in one thread, the frames built in the same
    thread, left both cores idle in turn: while one thread built frames in Python the other's
    booster waited for the lock between its rounds.) Each booster keeps one OpenMP thread
    (OpenMP threads spin and run many times slower when the cores are shared). Worker processes
    would pay seconds of start-up and copying for every fit. Results are the same either way:
    every round is seeded and deterministic on one thread.

    At most ``n_jobs`` + 1 targets' frames are held at once (the nation's memory bound)."""
    n_jobs = min(int(pipeline.n_jobs), 2 * len(targets))
    order = sorted(targets, key=lambda t: -_boosting_work(pipeline, inputs, t))
    with (
        _short_switch_interval(),
        ThreadPoolExecutor(max_workers=n_jobs) if n_jobs > 1 else _inline() as pool,
    ):
        pending: dict[str, tuple[Future, Future]] = {}
        for target in order:
            while len(pending) > max(n_jobs, 1):  # hold at most this many targets' frames
                yield _collect(pending)
            calibration_frames, scored, final_frames = target_frames(
                pipeline, inputs, target, cutoff, last_index
            )
            # the calibration round needs no forecast frames: it boosts while they are built
            calibration = pool.submit(
                calibration_round, pipeline, inputs, target, calibration_frames, scored
            )
            origin_frames = (
                None
                if forecast is None
                else target_origin_frames(pipeline, inputs, target, *forecast)
            )
            pending[target] = (
                calibration,
                pool.submit(final_round, pipeline, inputs, target, final_frames, origin_frames),
            )
            del calibration_frames, scored, final_frames, origin_frames
        if while_waiting is not None:
            while_waiting()
        while pending:
            yield _collect(pending)


def _collect(pending: dict[str, tuple[Future, Future]]) -> TargetFit:
    """The oldest pending target's fit, once its two rounds are done (taken from ``pending``)."""
    target = next(iter(pending))
    calibration, final = pending.pop(target)
    corrections, correlations = calibration.result()
    models, forecast = final.result()
    return TargetFit(target, models, corrections, correlations, forecast)


#: Python's thread switch interval while a fit's threads run (the default is 5 ms).
SWITCH_INTERVAL_S = 0.0005


@contextmanager
def _short_switch_interval() -> Iterator[None]:
    """Python's switch interval at most ``SWITCH_INTERVAL_S`` within, restored after.

    A booster takes Python's lock for a moment after every round (~1 ms of LightGBM); while
    another thread runs Python (building frames, conformal fits) it waits until that thread is
    made to let go, after the switch interval: 5 ms by default, so beside Python a booster ran
    at a fraction of its speed. In a small test (200 rounds on 6,000 × 77 rows beside a thread
    running Python, load 12 on 2 cores) the booster took 1.9–2.2 s at 5 ms against 1.2 s at
    0.5 ms; alone 0.6–0.9 s."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class _InlineExecutor:
    """``submit`` runs the call at once (one thread: no pool to start)."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future


@contextmanager
def _inline() -> Iterator[_InlineExecutor]:
    yield _InlineExecutor()


def _boosting_work(pipeline: ForecastPipeline, inputs: FeatureInputs, target: str) -> float:
    """A target's boosting rounds × columns, all quantiles: its boosters' share of a fit's
    time (a round's cost grows with the columns, hardly with the rows at these sizes)."""
    names = pipeline._design_names(inputs, target)
    unused = set(target_unused_features(pipeline, target, names))
    columns = len([n for n in names if n not in unused])
    median = target_lgbm_params(pipeline, target)
    tail = {
        **median,
        **(
            DEFAULT_TAIL_LGBM_PARAMS
            if pipeline.tail_lgbm_params is None
            else pipeline.tail_lgbm_params
        ),
    }
    boosters = pipeline._booster_quantiles() or list(pipeline._model_quantiles())
    rounds = [
        int((median if np.isclose(q, 0.5) else tail).get("n_estimators", 100))
        for q in boosters
        if not (np.isclose(q, 0.5) and pipeline.median_is_base(target))
    ]
    return float(sum(rounds) * columns)


def target_lgbm_params(
    pipeline: ForecastPipeline, target: str, *, calibration: bool = False
) -> dict[str, Any]:
    """LightGBM overrides of ``target``'s median booster: the per-target defaults updated with
    the pipeline's ``lgbm_params``; in the calibration round (``calibration``) its rounds scaled
    by the target's ``target_calibration_rounds_share`` or else ``calibration_rounds_share``, at
    the learning rate divided by it."""
    params = {**TARGET_LGBM_PARAMS.get(target, {}), **(pipeline.lgbm_params or {})}
    chosen = pipeline.target_calibration_rounds_share
    shares = TARGET_CALIBRATION_ROUNDS_SHARE if chosen is None else chosen
    share = float(shares.get(target, pipeline.calibration_rounds_share))
    if calibration and share != 1.0:
        full = lgbm_params(params)
        params["n_estimators"] = max(1, math.ceil(int(full["n_estimators"]) * share))
        params["learning_rate"] = float(full["learning_rate"]) / share
    return params


def target_unused_features(
    pipeline: ForecastPipeline, target: str, names: Sequence[str]
) -> tuple[str, ...]:
    """The design features of ``target`` (``names``) that none of its boosters sees (the
    pipeline's ``unused_features`` resolved: ``None`` is
    :data:`~models.forecast.quantile_lgbm.TARGET_UNUSED_FEATURES`, less the names a district's
    design lacks — a data set without a waiting list still fits; a list the user gave must name
    design features, checked in :func:`fit_boosters`)."""
    chosen = pipeline.unused_features
    if chosen is not None:
        return tuple(chosen.get(target, ()))
    present = set(names)
    return tuple(n for n in TARGET_UNUSED_FEATURES.get(target, ()) if n in present)


def target_median_only_features(
    pipeline: ForecastPipeline, target: str, names: Sequence[str]
) -> list[str]:
    """The design features of ``target`` (``names``) that its median's booster alone sees: the
    cohort and mechanism columns (``median_only_columns``) and the pipeline's
    ``tail_unused_features`` of the target (a name the design lacks is skipped)."""
    hidden = set(MEDIAN_ONLY_FEATURES) if pipeline.median_only_columns else set()
    hidden.update((pipeline.tail_unused_features or {}).get(target, ()))
    return [n for n in names if n in hidden]


def calibration_round(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    target: str,
    frames: dict[int, HorizonFrame],
    scored: list[HorizonFrame],
) -> tuple[dict[str, dict], dict[str, float]]:
    """The calibration round's boosters for one target, and the conformal corrections and
    residual correlations per horizon from their forecasts of the ``scored`` rows.

    The forecasts are scored a few horizons at a time (up to ``CALIBRATION_CHUNK_ROWS`` rows):
    all twelve at once, with their stacked and column-selected copies, were 0.24 GB of
    features per target at the nation."""
    models = fit_boosters(pipeline, inputs, target, frames, calibration=True)
    corrections: dict[str, dict] = {}
    correlations: dict[str, float] = {}
    sizes = {i: len(frame.label) for i, frame in enumerate(scored)}
    for group in chunks(sizes, CALIBRATION_CHUNK_ROWS):
        chunk_corrections, chunk_correlations = pipeline._level_forecaster().calibrate(
            target, models, [scored[i] for i in group]
        )
        corrections.update(chunk_corrections)
        correlations.update(chunk_correlations)
    return corrections, correlations


def final_round(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    target: str,
    frames: dict[int, HorizonFrame],
    origin_frames: list[HorizonFrame] | None,
) -> tuple[dict[int, Any], tuple[list[HorizonFrame], Sequence[np.ndarray | None]] | None]:
    """The final round's boosters for one target and, given the frames at a forecast origin,
    their output for those frames."""
    models = fit_boosters(pipeline, inputs, target, frames)
    if origin_frames is None:
        return models, None
    return models, (origin_frames, pipeline._level_forecaster().boosted(models, origin_frames))


def target_frames(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    target: str,
    cutoff: int,
    last_index: int,
) -> tuple[dict[int, HorizonFrame], list[HorizonFrame], dict[int, HorizonFrame]]:
    """The frames of one target's fit: the calibration round's training rows (target month
    ≤ cutoff, sampled), the rows it scores (the calibration origins, one frame per horizon)
    and the final round's training rows (sampled); training frames as
    :func:`~models.forecast.row_choice.sample_masks` groups them.

    The rows are chosen first and only the chosen ones are built (float32), each horizon's
    once for all three uses, then split: a row's features depend on its own kindergarten,
    origin and horizon only (point-in-time), not on which rows are built with it. So the
    boosters see exactly the rows and values they would if every row were built and then
    sampled, while memory stays at ``max_rows_per_model`` rows per booster (the nation has
    6.8 million candidate rows per target) plus the scored rows, and the horizon-wide work
    of a frame (the intake-cycle projections over the grid) is done once per horizon
    rather than once per use."""
    stacked = pipeline.strategy == "stacked"

    def sample(candidates: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        return sample_masks(
            candidates,
            stacked=stacked,
            max_rows=pipeline.max_rows_per_model,
            random_state=pipeline.random_state,
        )

    rows = {
        h: horizon_rows(inputs.grid, target, h, max_target_index=last_index)
        for h in range(1, pipeline.horizons + 1)
    }
    last_origin = cutoff + pipeline.calibration_origins - 1
    calibration = sample({h: kt[1] + h <= cutoff for h, kt in rows.items()})
    scored = calibration_sample(
        rows,
        {h: (kt[1] >= cutoff) & (kt[1] <= last_origin) for h, kt in rows.items()},
        limit=pipeline.calibration_rows,
        random_state=pipeline.random_state,
    )
    final = sample({h: np.ones(len(kt[0]), dtype=bool) for h, kt in rows.items()})
    parts: tuple[dict[int, HorizonFrame], dict[int, HorizonFrame], dict[int, HorizonFrame]]
    parts = ({}, {}, {})
    for h, kt in rows.items():
        wanted = calibration[h] | scored[h] | final[h]
        frame = pipeline._frame(inputs, target, h, pair_where(kt, wanted))
        for part, mask in zip(parts, (calibration[h], scored[h], final[h]), strict=True):
            part[h] = rows_where(frame, mask[wanted])
        del frame
    return (
        group_frames(parts[0], stacked=stacked),
        list(parts[1].values()),
        group_frames(parts[2], stacked=stacked),
    )


def fit_boosters(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    target: str,
    groups: dict[int, HorizonFrame],
    *,
    calibration: bool = False,
) -> dict[int, Any]:
    """{horizon: regressor} (direct) or {0: regressor} (stacked), fitted on ``groups``
    (:func:`target_frames`); ``calibration``: the calibration round's, the median's rounds
    scaled by the pipeline's ``calibration_rounds_share``."""
    names = pipeline._design_names(inputs, target)
    unknown = sorted(set(target_unused_features(pipeline, target, names)) - set(names))
    if unknown:
        raise ValueError(f"unused_features of {target} not in its design: {', '.join(unknown)}")
    models: dict[int, Any] = {}
    for key, frame in groups.items():
        if len(frame.label) < 2:
            raise UserInputError(
                f"too little history to fit {target}",
                [
                    Problem(
                        file="monthly",
                        column=target,
                        rule=f"too little history: {pipeline.months_required()} months needed",
                    )
                ],
            )
        regressor = (
            AugustSplitRegressor
            if target in pipeline._august_split_targets()
            and can_split(names)
            and (august_split.SPLIT_IN_CALIBRATION_ROUND or not calibration)
            else QuantileLGBMRegressor
        )
        models[key] = regressor(
            quantiles=pipeline._model_quantiles(),
            params=target_lgbm_params(pipeline, target, calibration=calibration),
            tail_params=(
                DEFAULT_TAIL_LGBM_PARAMS
                if pipeline.tail_lgbm_params is None
                else pipeline.tail_lgbm_params
            ),
            booster_quantiles=pipeline._booster_quantiles(),
            median_only_features=target_median_only_features(pipeline, target, names),
            median_booster=not pipeline.median_is_base(target),
            unused_features=target_unused_features(pipeline, target, names),
            tail_max_rows=pipeline.tail_max_rows,
            random_state=pipeline.random_state,
        ).fit(frame.features, frame.label, feature_names=names)
    return models
