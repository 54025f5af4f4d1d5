"""A fitted :class:`~models.forecast.pipeline.ForecastPipeline`'s forecasts: the data as known
at an origin turned into the feature table the models were fitted on (checked against it),
each target's frames for horizons 1 … h, and the calibrated quantiles — or the p50's top
drivers — in the contract's columns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from data.contract import FORECAST_COLUMNS, KINDERGARTEN_ID, QUANTILE_COLUMNS, District
from data.errors import Problem, UserInputError
from models.forecast.capacity_bound import OVER3, UNDER3, bound_under3, kept_to_capacity
from models.forecast.contributions import (
    CAPACITY_BOUND_FEATURE,
    CONTRIBUTION_COLUMNS,
    base_drivers,
    top_drivers,
)
from models.forecast.frames import HorizonFrame
from models.forecast.inputs import (
    FeatureInputs,
    as_of,
    check_design_names,
    check_feature_names,
    check_horizon,
    feature_inputs,
    targets_fitted_on_other_features,
)

if TYPE_CHECKING:
    from models.forecast.pipeline import ForecastPipeline


def origin_inputs(
    pipeline: ForecastPipeline, district: District, horizon: int, origin: pd.Period | None
) -> tuple[FeatureInputs, pd.Period]:
    """The inputs of ``district`` as known at ``origin`` (default: its last month), on a grid
    ``horizon`` months past it, checked against the features the models were fitted on."""
    check_is_fitted(pipeline, "models_")
    check_horizon(horizon, pipeline.horizons)
    months = district.monthly["month"]
    origin = months.max() if origin is None else pd.Period(origin, freq="M")
    if not (months == origin).any():
        raise UserInputError(
            f"no data at the origin {origin}",
            [Problem(file="monthly", column="month", rule=f"origin {origin} has no rows")],
        )
    known = as_of(with_lineage(pipeline, district), origin)
    inputs = feature_inputs(
        known, pipeline.targets_, months_ahead=horizon, exclude=pipeline._excluded_features()
    )
    check_feature_names(pipeline.feature_names_, inputs)
    built = {t: pipeline._design_names(inputs, t) for t in pipeline.targets_}
    check_design_names(pipeline.feature_names_["design"], built)
    return inputs, origin


def with_lineage(pipeline: ForecastPipeline, district: District) -> District:
    """``district`` with the lineage the model was fitted with, when it brings none."""
    lineage = getattr(pipeline, "lineage_", None)  # None for models fitted before lineage
    if district.lineage is None and lineage is not None:
        return replace(district, lineage=lineage)
    return district


def targets_on_other_features(pipeline: ForecastPipeline, district: District) -> list[str]:
    """See :meth:`ForecastPipeline.targets_on_other_features`."""
    check_is_fitted(pipeline, "models_")
    present = [t for t in pipeline.targets_ if t in district.monthly.columns]
    if not present:
        return []
    inputs = feature_inputs(
        with_lineage(pipeline, district),
        present,
        months_ahead=0,
        exclude=pipeline._excluded_features(),
    )
    built = {t: pipeline._design_names(inputs, t) for t in present}
    return targets_fitted_on_other_features(pipeline.feature_names_["design"], built)


def target_origin_frames(
    pipeline: ForecastPipeline, inputs: FeatureInputs, target: str, origin: pd.Period, horizon: int
) -> list[HorizonFrame]:
    """One target's frames for horizons 1 … ``horizon`` from ``origin`` (no labels)."""
    return pipeline._frames(
        inputs,
        target,
        origins=np.array([inputs.grid.month_index(origin)]),
        need_label=False,
        horizons=range(1, horizon + 1),
    )


def origin_frames(
    pipeline: ForecastPipeline, inputs: FeatureInputs, origin: pd.Period, horizon: int
) -> Iterator[tuple[str, list[HorizonFrame]]]:
    """(target, its frames for horizons 1 … ``horizon``) for every target at one origin: the
    walk the forecasts and the drivers share."""
    for target in pipeline.targets_:
        yield target, target_origin_frames(pipeline, inputs, target, origin, horizon)


@dataclass(frozen=True)
class TargetForecast:
    """One target's calibrated quantile forecasts at an origin, row by row (one row per
    kindergarten and horizon; ``kindergarten_index``: the grid's), before the forecasts of
    every target are framed together."""

    target: str
    levels: np.ndarray
    kindergarten_index: np.ndarray
    horizons: np.ndarray


def target_forecast(
    pipeline: ForecastPipeline,
    target: str,
    models: dict[int, Any],
    corrections: dict[str, dict],
    frames: Sequence[HorizonFrame],
    outputs: Sequence[np.ndarray | None],
) -> TargetForecast:
    """``target``'s forecasts from its fitted ``models`` and conformal ``corrections`` (per
    horizon), for its ``frames`` at the origin and the boosters' ``outputs`` for them
    (:meth:`~models.forecast.levels.LevelForecaster.boosted`)."""
    forecaster = pipeline._level_forecaster()
    levels, kindergartens, horizons = [], [], []
    for frame, output in zip(frames, outputs, strict=True):
        levels.append(
            forecaster.levels(models, frame, target, corrections[str(frame.horizon)], output)
        )
        kindergartens.append(frame.kindergarten_index)
        horizons.append(np.full(len(frame.anchor), frame.horizon, dtype=np.int64))
    if not levels:
        return TargetForecast(
            target,
            np.empty((0, len(forecaster.quantiles))),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.int64),
        )
    return TargetForecast(
        target, np.concatenate(levels), np.concatenate(kindergartens), np.concatenate(horizons)
    )


def fitted_target_forecast(
    pipeline: ForecastPipeline, target: str, frames: Sequence[HorizonFrame]
) -> TargetForecast:
    """:func:`target_forecast` of a fitted pipeline's ``target`` for its ``frames``."""
    models = pipeline.models_[target]
    outputs = pipeline._level_forecaster().boosted(models, frames)
    corrections = pipeline.calibration_["corrections"][target]
    return target_forecast(pipeline, target, models, corrections, frames, outputs)


def forecast_table(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    origin: pd.Period,
    horizon: int,
    made: dict[str, TargetForecast] | None = None,
) -> pd.DataFrame:
    """:meth:`ForecastPipeline.predict` from the inputs of the data as known at ``origin``;
    ``made``: targets' forecasts already made (a fit makes each as its target's rounds finish,
    while the workers boost the others), the other targets' made here."""
    # columns gathered as arrays and framed once: a DataFrame per horizon and target cost
    # more than the boosters' predictions
    parts = [
        made[target]
        if made is not None and target in made
        else fitted_target_forecast(
            pipeline, target, target_origin_frames(pipeline, inputs, target, origin, horizon)
        )
        for target in pipeline.targets_
    ]
    parts = [bound_by_capacity(pipeline, inputs, origin, parts, part) for part in parts]
    parts = [part for part in parts if len(part.horizons)]
    if not parts:
        return pd.DataFrame(columns=list(FORECAST_COLUMNS))
    out = pd.DataFrame(
        np.concatenate([part.levels for part in parts]), columns=list(QUANTILE_COLUMNS)
    )
    steps = np.concatenate([part.horizons for part in parts])
    kindergartens = np.concatenate([part.kindergarten_index for part in parts])
    out.insert(0, KINDERGARTEN_ID, inputs.grid.kindergarten_ids[kindergartens])
    out.insert(1, "origin", pd.PeriodIndex([origin] * len(out), freq="M"))
    out.insert(
        2,
        "month",
        pd.PeriodIndex.from_ordinals(  # type: ignore[attr-defined]
            origin.ordinal + steps, freq="M"
        ),
    )
    out.insert(3, "horizon", steps)
    out.insert(
        4,
        "target",
        np.concatenate([np.full(len(part.horizons), part.target, dtype=object) for part in parts]),
    )
    return out.sort_values([KINDERGARTEN_ID, "target", "horizon"], ignore_index=True)[
        list(FORECAST_COLUMNS)
    ]


def bound_by_capacity(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    origin: pd.Period,
    parts: Sequence[TargetForecast],
    part: TargetForecast,
) -> TargetForecast:
    """``part`` — when it is children under 3 and the pipeline bounds them — held inside
    approved capacity beside the over-3 forecasts in ``parts`` for the same kindergarten and
    horizon (:func:`models.forecast.capacity_bound.bound_under3`), for the kindergartens that
    kept to their capacity up to ``origin``; any other part as it is. Unchanged without the
    over-3 forecasts or a capacity column."""
    grid = inputs.grid
    over3_part = next((p for p in parts if p.target == OVER3), None)
    if (
        part.target != UNDER3
        or UNDER3 not in pipeline._capacity_bound_targets()
        or over3_part is None
        or "capacity" not in grid.point_in_time_names
        or OVER3 not in grid.targets
        or not len(part.horizons)
    ):
        return part
    capacity = grid.point_in_time[:, :, grid.point_in_time_names.index("capacity")]
    t = grid.month_index(origin)
    kept = kept_to_capacity(grid.targets[UNDER3], grid.targets[OVER3], capacity, t)
    # the over-3 quantiles of each under-3 row's kindergarten and horizon (NaN where none)
    quantiles = pipeline._level_forecaster().quantiles
    over3 = np.full(
        (len(grid.kindergarten_ids), int(part.horizons.max()) + 1, len(quantiles)), np.nan
    )
    inside = over3_part.horizons < over3.shape[1]
    over3[over3_part.kindergarten_index[inside], over3_part.horizons[inside]] = over3_part.levels[
        inside
    ]
    k = part.kindergarten_index
    levels = bound_under3(
        part.levels,
        over3[k, part.horizons],
        capacity[k, t].astype(np.float64),
        kept[k],
        quantiles,
    )
    return replace(part, levels=levels)


def contribution_table(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    origin: pd.Period,
    horizon: int,
    top: int,
) -> pd.DataFrame:
    """:meth:`ForecastPipeline.predict_contributions` from the inputs at ``origin``; a target
    whose p50 is its base has that base as its one driver, and an under-3 p50 the capacity
    bound lowered has the bound as one more (:func:`capacity_bound_drivers`), each
    forecast's drivers ranked by their contributions' size."""
    forecaster = pipeline._level_forecaster()
    parts = []
    # the children's frames kept for the capacity bound's drivers (the others are dropped as
    # they are read: a nation's frames of every target at once are ~0.1 GB)
    frames_of: dict[str, list[HorizonFrame]] = {}
    for target, frames in origin_frames(pipeline, inputs, origin, horizon):
        if target in (UNDER3, OVER3):
            frames_of[target] = frames
        for frame in frames:
            if pipeline.median_is_base(target):
                parts.append(
                    base_drivers(
                        frame,
                        kindergarten_ids=inputs.grid.kindergarten_ids,
                        origin=origin,
                        target=target,
                    )
                )
                continue
            parts.append(
                top_drivers(
                    forecaster.model_for(pipeline.models_[target], frame),
                    frame,
                    names=pipeline.feature_names_["design"][target],
                    kindergarten_ids=inputs.grid.kindergarten_ids,
                    origin=origin,
                    target=target,
                    top=top,
                )
            )
    bound = capacity_bound_drivers(pipeline, inputs, origin, frames_of)
    if bound is None or bound.empty:
        return pd.concat(parts, ignore_index=True)
    drivers = pd.concat([*parts, bound], ignore_index=True)
    keys = [KINDERGARTEN_ID, "target", "horizon"]
    drivers = drivers.assign(size=drivers["contribution"].abs()).sort_values(
        [*keys, "size"], ascending=[True, True, True, False], kind="stable"
    )
    drivers["rank"] = drivers.groupby(keys).cumcount() + 1
    return drivers.drop(columns="size").reset_index(drop=True)


def capacity_bound_drivers(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    origin: pd.Period,
    frames_of: dict[str, list[HorizonFrame]],
) -> pd.DataFrame | None:
    """One driver row (:data:`~models.forecast.contributions.CAPACITY_BOUND_FEATURE`) for each
    under-3 p50 the capacity bound lowered (:func:`bound_by_capacity`): its value the p50 the
    bound left (the under-3s approved capacity leaves room for beside the over-3 p50), its
    contribution the change (negative); ``frames_of``: the children's frames at the origin.
    ``None`` when the bound is off or a count is not forecast. A planner reading the drivers
    of a lowered p50 otherwise met a model's explanation of a number the page no longer
    shows."""
    if UNDER3 not in pipeline._capacity_bound_targets() or not {UNDER3, OVER3} <= set(
        pipeline.targets_
    ):
        return None
    parts = [fitted_target_forecast(pipeline, t, frames_of[t]) for t in (UNDER3, OVER3)]
    under3 = parts[0]
    bounded = bound_by_capacity(pipeline, inputs, origin, parts, under3)
    median = pipeline._level_forecaster().median_column
    change = bounded.levels[:, median] - under3.levels[:, median]
    lowered = np.flatnonzero(change < 0)
    n = len(lowered)
    return pd.DataFrame(
        {
            KINDERGARTEN_ID: inputs.grid.kindergarten_ids[under3.kindergarten_index[lowered]],
            "origin": pd.PeriodIndex([origin] * n, freq="M"),
            "month": pd.PeriodIndex.from_ordinals(  # type: ignore[attr-defined]
                origin.ordinal + under3.horizons[lowered], freq="M"
            ),
            "horizon": under3.horizons[lowered],
            "target": UNDER3,
            "rank": np.ones(n, dtype=np.int64),
            "feature": np.full(n, CAPACITY_BOUND_FEATURE, dtype=object),
            "value": bounded.levels[lowered, median],
            "contribution": change[lowered],
        },
        columns=list(CONTRIBUTION_COLUMNS),
    )
