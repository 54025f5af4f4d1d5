"""Plans per district: each district of the data planned with its own pools, in parallel
processes, and a city summary over them.

The forecasts are made once for all kindergartens (the model forecasts each kindergarten from
its own rows, so a district's forecasts are the same whether the city or the district is
forecast); each district's plan then gets its kindergartens, its forecasts and its backtest
history only, so ``--district X`` and the X part of the all-district run give the same plan.

Pools per district come from a pools file (CSV ``district,resource,fte``, one row per district
and resource) or ``--district-pool DISTRICT:RESOURCE=FTE``; a district named in neither gets the
``--pool`` values (each district the same, not a share of them).
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from data.contract import KINDERGARTEN_ID, RESOURCES, District
from data.errors import Problem, UserInputError
from serving.district_split import DISTRICT, split_by_district
from serving.plan_from_model import forecast_for_plan
from serving.planning import PlanRequest, PlanResult, build_plan

if TYPE_CHECKING:
    from training.registry import LoadedModel

POOLS_FILE_COLUMNS = ("district", "resource", "fte")
#: the summary figures that add up over districts (expectations and totals)
CITY_SUMMARY_GROUP = "allocation"


@dataclass(frozen=True)
class DistrictPlan:
    """One district's plan."""

    district: str
    result: PlanResult


def district_names(district: District) -> list[str]:
    """The districts of the data's kindergartens, sorted."""
    kinds = district.kindergartens
    if DISTRICT not in kinds.columns:
        return []
    return sorted(str(d) for d in kinds[DISTRICT].dropna().unique())


def check_districts(district: District, wanted: list[str], option: str) -> None:
    """Every name in ``wanted`` must be a district of the data; all unknown names at once."""
    known = district_names(district)
    problems = [
        Problem(option, f"must be a district of the data: {', '.join(known)}", value=name)
        for name in wanted
        if name not in known
    ]
    if problems:
        raise UserInputError(f"{len(problems)} unknown district(s)", problems)


def chosen_districts(
    data_set: District,
    wanted: list[str] | None,
    as_one: bool,
    pools: Mapping[str, Mapping[str, float]] | None = None,
) -> list[str] | None:
    """The districts to plan one by one, or None for one plan of everything (``--as-one``, or
    data of a single district without ``--district``): the default of ``bemanning plan``,
    ``bemanning report`` and the app's per-district run. Unknown districts in ``wanted`` or in
    ``pools`` are named at once."""
    problems: list[Problem] = []
    if as_one and wanted:
        problems.append(Problem("--as-one", "cannot be combined with --district"))
    for option, names in (
        ("--district", wanted or []),
        ("--pools-file/--district-pool", pools or {}),
    ):
        try:
            check_districts(data_set, list(names), option)
        except UserInputError as exc:
            problems += exc.problems
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) with the district options", problems)
    if as_one:
        return None
    if wanted:
        return list(dict.fromkeys(wanted))
    names = district_names(data_set)
    return names if len(names) > 1 else None


def district_subset(district: District, name: str) -> District:
    """The kindergartens of district ``name``, their monthly rows and the district's
    population."""
    kinds = district.kindergartens[district.kindergartens[DISTRICT].astype(str) == name]
    ids = set(kinds[KINDERGARTEN_ID].astype(str))
    monthly = district.monthly[district.monthly[KINDERGARTEN_ID].astype(str).isin(ids)]
    population = district.population
    if population is not None and DISTRICT in population.columns:
        population = population[population[DISTRICT].astype(str) == name]
    return District(
        kindergartens=kinds.reset_index(drop=True),
        monthly=monthly.reset_index(drop=True),
        population=population,
        simulated=district.simulated,
        source=district.source,
    )


def read_pools_file(path: Path) -> dict[str, dict[str, float]]:
    """A pools file (CSV ``district,resource,fte``) → {district: {resource: FTE}}; every bad
    row named at once (file, row, column, rule)."""
    name = str(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UserInputError(
            f"could not read the pools file {name}",
            [Problem(name, f"must be a readable CSV file ({type(exc).__name__})")],
        ) from None
    problems = [
        Problem(name, "required column missing", column=c)
        for c in POOLS_FILE_COLUMNS
        if c not in table.columns
    ]
    if problems:
        raise UserInputError(f"the pools file {name} cannot be used", problems)
    pools: dict[str, dict[str, float]] = {}
    for row, (district, resource, amount) in enumerate(
        table[list(POOLS_FILE_COLUMNS)].itertuples(index=False), start=2
    ):
        district, resource = district.strip(), resource.strip()
        if not district:
            problems.append(Problem(name, "district must not be empty", row=row, column=DISTRICT))
        if resource not in RESOURCES:
            problems.append(
                Problem(
                    name,
                    f"resource must be one of {', '.join(RESOURCES)}",
                    row=row,
                    column="resource",
                    value=resource,
                )
            )
        try:
            fte = float(amount)
        except ValueError:
            fte = math.nan
        if not math.isfinite(fte) or fte < 0:
            problems.append(
                Problem(
                    name, "FTE must be a finite number ≥ 0", row=row, column="fte", value=amount
                )
            )
            continue
        if resource in pools.get(district, {}):
            problems.append(
                Problem(
                    name,
                    "district and resource given more than once",
                    row=row,
                    column="resource",
                    value=f"{district} {resource}",
                )
            )
        elif district and resource in RESOURCES:
            pools.setdefault(district, {})[resource] = fte
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) in the pools file {name}", problems)
    return pools


def parse_district_pools(values: list[str] | None) -> dict[str, dict[str, float]]:
    """``["Alna:staff=3", "Alna:pedagogue=1"]`` → ``{"Alna": {"staff": 3.0, ...}}``; every bad
    item named at once."""
    from serving.plan_options import parse_pools

    items: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for position, item in enumerate(values or [], start=1):
        district, sep, pool = item.partition(":")
        if not sep or not district.strip():
            problems.append(
                Problem(
                    "--district-pool",
                    "must be DISTRICT:RESOURCE=FTE, e.g. Alna:staff=3",
                    row=position,
                    value=item,
                )
            )
            continue
        items.setdefault(district.strip(), []).append(pool)
    pools: dict[str, dict[str, float]] = {}
    for district, given in items.items():
        try:
            pools[district] = parse_pools(given)
        except UserInputError as exc:
            problems += [
                replace(p, file="--district-pool", value=f"{district}:{p.value}")
                for p in exc.problems
            ]
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) with --district-pool", problems)
    return pools


def pools_for(
    name: str,
    default: Mapping[str, float],
    per_district: Mapping[str, Mapping[str, float]],
) -> dict[str, float]:
    """District ``name``'s pools: its own when given, else the ``--pool`` values."""
    return dict(per_district.get(name, default))


def district_history(pit_history: pd.DataFrame | None, ids: set[str]) -> pd.DataFrame | None:
    """The backtest predictions of one district's kindergartens (what its scenarios draw on)."""
    if pit_history is None or KINDERGARTEN_ID not in pit_history.columns:
        return pit_history
    keep = pit_history[KINDERGARTEN_ID].astype(str).isin(ids)
    return pit_history[keep].reset_index(drop=True)


@dataclass(frozen=True)
class _DistrictJob:
    name: str
    district: District
    forecasts: pd.DataFrame
    request: PlanRequest
    pit_history: pd.DataFrame | None
    model_version: str


def _run(job: _DistrictJob) -> DistrictPlan:
    result = build_plan(
        job.district,
        job.forecasts,
        job.request,
        pit_history=job.pit_history,
        model_version=job.model_version,
    )
    result.header["district"] = job.name
    return DistrictPlan(job.name, result)


def plan_districts(
    district: District,
    forecasts: pd.DataFrame,
    request: PlanRequest,
    names: list[str],
    *,
    pools: Mapping[str, Mapping[str, float]],
    pit_history: pd.DataFrame | None = None,
    model_version: str = "",
    processes: int | None = None,
    on_done: Callable[[str], None] | None = None,
) -> list[DistrictPlan]:
    """One plan per district in ``names`` (each with :func:`pools_for` its pools), in up to
    ``processes`` worker processes (default: the machine's cores); in ``names`` order.

    A district whose request is wrong fails the whole run with every district's problems named
    (the row of each problem says which district)."""
    # each district's kindergartens, rows, forecasts and history (district_subset's and
    # district_history's) from one pass over each table
    parts = split_by_district(district, forecasts, pit_history, names)
    jobs = [
        _DistrictJob(
            name,
            parts[name].district,
            parts[name].forecasts,
            replace(request, pools=pools_for(name, request.pools, pools)),
            parts[name].pit_history,
            model_version,
        )
        for name in names
    ]
    workers = max(1, min(processes or os.cpu_count() or 1, len(jobs)))
    outcomes: dict[str, DistrictPlan | _Failure] = {}
    if workers == 1:
        for job in jobs:
            outcomes[job.name] = _outcome(job)
            if on_done:
                on_done(job.name)
    else:
        # fork: the workers start with the engine already imported (spawn re-imports it)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {job.name: pool.submit(_outcome, job) for job in jobs}
            for name, future in futures.items():
                outcomes[name] = future.result()
                if on_done:
                    on_done(name)
    problems: list[Problem] = []
    for name, outcome in outcomes.items():
        if isinstance(outcome, _Failure):
            problems += [replace(p, file=f"{p.file} (district {name})") for p in outcome.problems]
            if not outcome.problems:
                problems.append(Problem(f"district {name}", outcome.message))
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) with the district plans", problems)
    return [outcome for outcome in outcomes.values() if isinstance(outcome, DistrictPlan)]


def forecast_and_plan_districts(
    district: District,
    model: LoadedModel,
    request: PlanRequest,
    names: list[str],
    *,
    pools: Mapping[str, Mapping[str, float]],
    processes: int | None = None,
    step: Callable[[int], None] | None = None,
) -> tuple[PlanRequest, pd.DataFrame, list[DistrictPlan]]:
    """(the request with the model's tuned defaults, the forecasts of every kindergarten, one
    plan per district in ``names``): the model forecasts once, each district is planned with
    its own pools (:func:`plan_districts`) — what ``bemanning plan`` and ``bemanning report`` do
    by default. ``step`` (a :func:`serving.progress.staged_progress` stepper) moves on to step
    2 before forecasting and to step 3 before planning, as in
    :func:`serving.plan_from_model.forecast_and_plan`."""
    request, forecasts = forecast_for_plan(district, model, request, step=step)
    if step is not None:
        step(3)
    plans = plan_districts(
        district,
        forecasts,
        request,
        names,
        pools=pools,
        pit_history=model.pit_history,
        model_version=str(model.version),
        processes=processes,
    )
    return request, forecasts, plans


@dataclass(frozen=True)
class _Failure:
    """A district's UserInputError as plain data (an exception's problems do not survive the
    trip back from a worker process)."""

    message: str
    problems: list[Problem]


def _outcome(job: _DistrictJob) -> DistrictPlan | _Failure:
    try:
        return _run(job)
    except UserInputError as exc:  # returned, so every district's problems are told at once
        return _Failure(str(exc), list(exc.problems))


def city_summary(plans: list[DistrictPlan]) -> pd.DataFrame:
    """The districts' summaries (plan / proportional / none) added up: every figure is an
    expectation or a total over kindergartens, so the city's is the sum of its districts'."""
    return summed_summaries([p.result.summary for p in plans])


def summed_summaries(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Plan summaries (one row per compared allocation) added up allocation by allocation, in
    the order they first appear: the city summary of district plans made here or stored."""
    if not frames:
        return pd.DataFrame()
    stacked = pd.concat(frames, ignore_index=True)
    order = list(dict.fromkeys(stacked[CITY_SUMMARY_GROUP]))
    total = stacked.groupby(CITY_SUMMARY_GROUP, sort=False).sum(numeric_only=True)
    return total.reindex(order).reset_index().round(4)


def district_summaries(plans: list[DistrictPlan]) -> pd.DataFrame:
    """Each district's summary rows, with the district first."""
    frames = [p.result.summary.assign(district=p.district) for p in plans]
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    return out[[DISTRICT, *[c for c in out.columns if c != DISTRICT]]]


def combined_lines(plans: list[DistrictPlan]) -> pd.DataFrame:
    """Every district's plan lines, with their district as the last column."""
    return pd.concat([p.result.lines.assign(district=p.district) for p in plans], ignore_index=True)


#: header entries that add up over the districts (per resource or per compared allocation)
_SUMMED_HEADER = ("pools_fte", "spend_nok")


def _numbers(value: object) -> dict[str, float]:
    return {str(k): float(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def city_plan(plans: list[DistrictPlan], *, data_fingerprint: str) -> PlanResult:
    """The district plans as one plan of the city, for what reads a single plan (the benefit
    report): every district's lines (with their district), :func:`city_summary`, and a header
    whose pools, spend, budget, moves and solve time are the districts' added up, whose
    settings are theirs (one request, its pools aside), and whose warnings name their
    district. It carries no scenarios: each district's were drawn on its own."""
    if not plans:
        raise ValueError("no district plans to put together")
    headers = [p.result.header for p in plans]
    header: dict[str, object] = dict(headers[0])
    for key in _SUMMED_HEADER:
        total: dict[str, float] = {}
        for h in headers:
            for name, value in _numbers(h.get(key)).items():
                total[name] = total.get(name, 0.0) + value
        header[key] = total
    budgets = [_number(h.get("budget_nok")) for h in headers]
    header["budget_nok"] = None if None in budgets else sum(b or 0.0 for b in budgets)
    for key in ("moves_used", "solve_seconds"):
        header[key] = round(sum(_number(h.get(key)) or 0.0 for h in headers), 3)
    header["solver_status"] = ", ".join(dict.fromkeys(str(h.get("solver_status")) for h in headers))
    gaps = [g for h in headers if (g := _number(h.get("mip_gap"))) is not None]
    header["mip_gap"] = max(gaps) if gaps else None
    header["time_limited"] = any(bool(h.get("time_limited")) for h in headers)
    header["warnings"] = [
        f"{p.district}: {w}" for p in plans for w in _items(p.result.header.get("warnings"))
    ]
    fallback: dict[str, object] = {}
    for h in headers:
        given = h.get("fallback_forecasts")
        fallback.update(given if isinstance(given, Mapping) else {})
    header["fallback_forecasts"] = fallback
    header["district"] = ", ".join(p.district for p in plans)
    header["districts"] = [p.district for p in plans]
    header["data_fingerprint"] = data_fingerprint
    for key in ("pool_marginal_value", "violations", "pins"):
        header.pop(key, None)  # per district: read in each district's own header
    digest = hashlib.sha256("|".join(p.result.plan_id for p in plans).encode()).hexdigest()
    header["plan_id"] = plan_id = digest[:12]
    return PlanResult(
        plan_id=plan_id,
        header=header,
        lines=combined_lines(plans),
        summary=city_summary(plans),
        simulated=any(p.result.simulated for p in plans),
    )
