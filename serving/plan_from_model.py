"""The model's forecasts over a plan period, then the plan built on them: what ``bemanning
plan``, the benefit report and the per-district plans do once data and model are read."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pandas as pd

from data.contract import District
from data.errors import Problem, UserInputError
from serving.plan_defaults import tuned_defaults_note, with_tuned_defaults
from serving.plan_request import PlanRequest, PlanResult
from serving.planning import build_plan

if TYPE_CHECKING:
    from training.registry import LoadedModel


def forecast_horizon(
    last_month: pd.Period, start: pd.Period | None, months: int, max_horizon: int
) -> int:
    """Months ahead the forecasts must reach for the plan period (``start`` defaults to the
    month after the data); a period before the data's end or past what the model forecasts is
    the user's problem, named with the options."""
    first = pd.Period(start, "M") if start is not None else last_month + 1
    horizon = (first - last_month).n + int(months) - 1
    problems = []
    if first <= last_month:
        problems.append(
            Problem(
                file="--start",
                rule=f"must be after the last month of data ({last_month})",
                value=str(first),
            )
        )
    elif horizon > max_horizon:
        problems.append(
            Problem(
                file="--months",
                rule=f"the plan period ends {horizon} months "
                f"after the data; the model forecasts {max_horizon}",
                value=int(months),
            )
        )
    if problems:
        raise UserInputError("the plan period is outside the forecasts", problems)
    return horizon


def forecast_for_plan(
    district: District,
    model: LoadedModel,
    request: PlanRequest,
    *,
    step: Callable[[int], None] | None = None,
) -> tuple[PlanRequest, pd.DataFrame]:
    """(the request with the model's tuned defaults where the planner left the built-in ones,
    the model's forecasts over its plan period): the forecasting half of
    :func:`forecast_and_plan`, shared with the per-district plans."""
    advance = step or (lambda _: None)
    model.check_compatible(district)
    request = with_tuned_defaults(request, model)
    horizon = forecast_horizon(
        district.last_month,
        request.start,
        request.months,
        int(getattr(model.pipeline, "horizons", 12)),
    )
    advance(2)
    # the backtest history the plan's scenarios draw on (read on first use: 0.3 s of CPU at a
    # city, 2.7 s at the nation) read in a thread beside the forecast, as reading Parquet
    # lets go of the GIL; a failed read is raised after the forecast, as it was before
    with ThreadPoolExecutor(max_workers=1) as beside:
        history = beside.submit(lambda: model.pit_history)
        forecasts = model.pipeline.predict(district, horizon=horizon)
        history.result()
    return request, forecasts


def forecast_and_plan(
    district: District,
    model: LoadedModel,
    request: PlanRequest,
    *,
    step: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, PlanResult]:
    """The loaded model's forecasts over ``request``'s plan period and the plan built on them:
    what ``bemanning plan`` and the benefit report both do once data and model are read.
    Settings the planner left at their defaults take the model's tuned plan defaults, if any
    (:func:`serving.plan_defaults.with_tuned_defaults`; the header says which).
    ``step`` (a :func:`serving.progress.staged_progress` stepper) moves on to step 2 before
    forecasting and to step 3 before planning."""
    advance = step or (lambda _: None)
    request, forecasts = forecast_for_plan(district, model, request, step=step)
    advance(3)
    plan = build_plan(
        district,
        forecasts,
        request,
        pit_history=model.pit_history,
        model_version=str(model.version),
    )
    note = tuned_defaults_note(model)
    if note is not None:
        plan.header["tuned_defaults"] = note
    return forecasts, plan
