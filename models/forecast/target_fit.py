"""One target's fit in a :class:`~models.forecast.pipeline.ForecastPipeline`: its frames built
once for both rounds, the calibration round's boosters and conformal corrections, then the final
round's boosters; targets side by side in threads.

The pipeline's parameters (strategy, sampling, LightGBM settings) are read from the pipeline
passed in; what is fitted is returned, not stored on it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from joblib import Parallel, delayed

from data.errors import Problem, UserInputError
from models.forecast.frames import MEDIAN_ONLY_FEATURES, HorizonFrame, horizon_rows, rows_where
from models.forecast.inputs import FeatureInputs
from models.forecast.quantile_lgbm import (
    DEFAULT_TAIL_LGBM_PARAMS,
    TARGET_LGBM_PARAMS,
    QuantileLGBMRegressor,
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

#: (target, final models, corrections, correlations)
TargetFit = tuple[str, dict[int, Any], dict[str, dict], dict[str, float]]


def fit_targets(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    targets: Sequence[str],
    cutoff: int,
    last_index: int,
) -> Iterator[TargetFit]:
    """(target, final models, corrections, correlations) per target, as each finishes.

    Targets are independent, so with ``n_jobs`` > 1 they are fitted side by side in Python
    threads: LightGBM releases the GIL while it bins and boosts, and each booster keeps one
    OpenMP thread (OpenMP threads spin and run many times slower when the cores are shared;
    threads that each run a one-thread booster merely take turns). Worker processes would pay
    seconds of start-up and copying for every fit. Results are the same either way."""
    n_jobs = min(int(pipeline.n_jobs), len(targets))
    if n_jobs <= 1:
        for target in targets:
            yield fit_one_target(pipeline, inputs, target, cutoff, last_index)
        return
    jobs = (
        delayed(fit_one_target)(pipeline, inputs, target, cutoff, last_index) for target in targets
    )
    yield from Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(jobs)


def fit_one_target(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    target: str,
    cutoff: int,
    last_index: int,
) -> TargetFit:
    """The calibration round, its corrections, then the final round, for one target.

    The calibration round's forecasts are scored a few horizons at a time (up to
    ``CALIBRATION_CHUNK_ROWS`` rows): all twelve at once, with their stacked and
    column-selected copies, were 0.24 GB of features per target at the nation."""
    calibration_frames, scored, final_frames = target_frames(
        pipeline, inputs, target, cutoff, last_index
    )
    calibration_models = fit_boosters(pipeline, inputs, target, calibration_frames)
    del calibration_frames
    corrections: dict[str, dict] = {}
    correlations: dict[str, float] = {}
    sizes = {i: len(frame.label) for i, frame in enumerate(scored)}
    for group in chunks(sizes, CALIBRATION_CHUNK_ROWS):
        chunk_corrections, chunk_correlations = pipeline._level_forecaster().calibrate(
            target, calibration_models, [scored[i] for i in group]
        )
        corrections.update(chunk_corrections)
        correlations.update(chunk_correlations)
    del scored
    final = fit_boosters(pipeline, inputs, target, final_frames)
    return target, final, corrections, correlations


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
) -> dict[int, Any]:
    """{horizon: regressor} (direct) or {0: regressor} (stacked), fitted on ``groups``
    (:func:`target_frames`)."""
    names = pipeline._design_names(inputs, target)
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
        models[key] = QuantileLGBMRegressor(
            quantiles=pipeline._model_quantiles(),
            params={**TARGET_LGBM_PARAMS.get(target, {}), **(pipeline.lgbm_params or {})},
            tail_params=(
                DEFAULT_TAIL_LGBM_PARAMS
                if pipeline.tail_lgbm_params is None
                else pipeline.tail_lgbm_params
            ),
            booster_quantiles=pipeline._booster_quantiles(),
            median_only_features=[n for n in names if n in MEDIAN_ONLY_FEATURES],
            random_state=pipeline.random_state,
        ).fit(frame.features, frame.label, feature_names=names)
    return models
