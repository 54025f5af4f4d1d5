"""A fitted :class:`~models.forecast.pipeline.ForecastPipeline`'s forecasts: the data as known
at an origin turned into the feature table the models were fitted on (checked against it),
each target's frames for horizons 1 … h, and the calibrated quantiles — or the p50's top
drivers — in the contract's columns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from data.contract import FORECAST_COLUMNS, KINDERGARTEN_ID, QUANTILE_COLUMNS, District
from data.errors import Problem, UserInputError
from models.forecast.capacity_bound import OVER3, UNDER3, bound_under3, kept_to_capacity
from models.forecast.contributions import base_drivers, top_drivers
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


#: per target, its frames at the origin and the quantile models' raw output for them
#: (:meth:`~models.forecast.levels.LevelForecaster.boosted`)
Boosted = dict[str, tuple[list[HorizonFrame], Sequence[np.ndarray | None]]]


def forecast_table(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    origin: pd.Period,
    horizon: int,
    boosted: Boosted | None = None,
) -> pd.DataFrame:
    """:meth:`ForecastPipeline.predict` from the inputs of the data as known at ``origin``;
    ``boosted``: the targets' frames and boosters' output already made (a fit's threads make
    them beside the fitting), the other targets' made here."""
    # columns gathered as arrays and framed once: a DataFrame per horizon and target cost
    # more than the boosters' predictions
    levels, kindergartens, horizons, targets = [], [], [], []
    forecaster = pipeline._level_forecaster()
    target_levels: dict[str, list[tuple[HorizonFrame, np.ndarray]]] = {}
    for target in pipeline.targets_:
        models = pipeline.models_[target]
        if boosted is not None and target in boosted:
            frames, outputs = boosted[target]
        else:
            frames = target_origin_frames(pipeline, inputs, target, origin, horizon)
            outputs = forecaster.boosted(models, frames)
        for frame, output in zip(frames, outputs, strict=True):
            corrections = pipeline.calibration_["corrections"][target][str(frame.horizon)]
            predicted = forecaster.levels(models, frame, target, corrections, output)
            target_levels.setdefault(target, []).append((frame, predicted))
    if UNDER3 in pipeline._capacity_bound_targets():
        bound_by_capacity(inputs, origin, target_levels, forecaster.quantiles)
    for target, framed in target_levels.items():
        for frame, predicted in framed:
            levels.append(predicted)
            kindergartens.append(inputs.grid.kindergarten_ids[frame.kindergarten_index])
            horizons.append(np.full(len(frame.anchor), frame.horizon, dtype=np.int64))
            targets.append(np.full(len(frame.anchor), target, dtype=object))
    if not levels:
        return pd.DataFrame(columns=list(FORECAST_COLUMNS))
    out = pd.DataFrame(np.concatenate(levels), columns=list(QUANTILE_COLUMNS))
    steps = np.concatenate(horizons)
    out.insert(0, KINDERGARTEN_ID, np.concatenate(kindergartens))
    out.insert(1, "origin", pd.PeriodIndex([origin] * len(out), freq="M"))
    out.insert(
        2,
        "month",
        pd.PeriodIndex.from_ordinals(  # type: ignore[attr-defined]
            origin.ordinal + steps, freq="M"
        ),
    )
    out.insert(3, "horizon", steps)
    out.insert(4, "target", np.concatenate(targets))
    return out.sort_values([KINDERGARTEN_ID, "target", "horizon"], ignore_index=True)[
        list(FORECAST_COLUMNS)
    ]


def bound_by_capacity(
    inputs: FeatureInputs,
    origin: pd.Period,
    target_levels: dict[str, list[tuple[HorizonFrame, np.ndarray]]],
    quantiles: Sequence[float],
) -> None:
    """Children under 3's levels in ``target_levels`` (per target, each horizon's frame and
    its quantiles) held inside approved capacity beside the over-3 quantiles of the same
    kindergarten and month (:func:`models.forecast.capacity_bound.bound_under3`), in place, for
    the kindergartens that kept to their capacity up to ``origin``. Nothing without both
    counts' forecasts or a capacity column."""
    grid = inputs.grid
    median_column = int(np.argmin(np.abs(np.asarray(quantiles, dtype=np.float64) - 0.5)))
    if UNDER3 not in target_levels or OVER3 not in target_levels:
        return
    if "capacity" not in grid.point_in_time_names or OVER3 not in grid.targets:
        return
    capacity = grid.point_in_time[:, :, grid.point_in_time_names.index("capacity")]
    capacity = capacity.astype(np.float64)
    kept = kept_to_capacity(
        grid.targets[UNDER3], grid.targets[OVER3], capacity, grid.month_index(origin)
    )
    over3_by_horizon = {frame.horizon: (frame, p) for frame, p in target_levels[OVER3]}
    for i, (frame, predicted) in enumerate(target_levels[UNDER3]):
        if frame.horizon not in over3_by_horizon:
            continue
        over3_frame, over3_levels = over3_by_horizon[frame.horizon]
        # the over-3 quantiles of each under-3 row's kindergarten (NaN where it has none)
        over3 = np.full((len(grid.kindergarten_ids), predicted.shape[1]), np.nan)
        over3[over3_frame.kindergarten_index] = over3_levels
        k, t = frame.kindergarten_index, frame.origin_index
        bounded = bound_under3(
            predicted,
            over3[k],
            capacity[k, t],
            kept[k] & ~np.isnan(over3[k, median_column]),
            quantiles,
        )
        target_levels[UNDER3][i] = (frame, bounded)


def contribution_table(
    pipeline: ForecastPipeline,
    inputs: FeatureInputs,
    origin: pd.Period,
    horizon: int,
    top: int,
) -> pd.DataFrame:
    """:meth:`ForecastPipeline.predict_contributions` from the inputs at ``origin``; a target
    whose p50 is its base has that base as its one driver."""
    forecaster = pipeline._level_forecaster()
    parts = []
    for target, frames in origin_frames(pipeline, inputs, origin, horizon):
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
    return pd.concat(parts, ignore_index=True)
