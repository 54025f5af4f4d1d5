"""The planning service: forecasts + a planner's request → an optimised, explained plan.

The web app and the ``bemanning plan`` command call :func:`build_plan`. It checks the request
(every problem at once, :mod:`serving.plan_checks`), draws need scenarios, solves the allocation
MILP, compares it with the proportional key, with no pool and with its own re-solves at equity
weight 0 and risk-neutral (all under the same pools and budget), and returns plan lines in the
contract's format with their explanations. The request and the result are
:mod:`serving.plan_request`'s; the forecasting half is :mod:`serving.plan_from_model`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH, RESOURCES, District
from data.errors import Problem, UserInputError
from data.periods import month_text
from models.allocation.curves import NeedWeights
from models.forecast.fallback import FallbackForecasts, with_fallback
from serving import plan_warnings
from serving.plan_checks import check_pins_fit, check_request
from serving.plan_request import (
    DEFAULT_COST_PER_FTE_NOK,
    DEFAULT_STEP_FTE,
    DEFAULT_TAIL_WEIGHT,
    REQUEST,
    SUPPLY_COLUMN,
    Pin,
    PinKind,
    PlanRequest,
    PlanResult,
    fte_year_cost,
)


def latest_state(district: District) -> pd.DataFrame:
    """Per kindergarten its latest monthly row, with the latest non-empty shares."""
    monthly = district.monthly.sort_values([KINDERGARTEN_ID, MONTH])
    last = monthly.groupby(KINDERGARTEN_ID, sort=True).tail(1).set_index(KINDERGARTEN_ID)
    state = pd.DataFrame(index=last.index)
    state[MONTH] = last[MONTH]
    for column in (
        "children_under3",
        "children_over3",
        "vedtak_31",
        "vedtak_37",
        *SUPPLY_COLUMN.values(),
    ):
        state[column] = last[column].astype(float).fillna(0.0) if column in last else 0.0
    for column in ("low_income_share", "minority_language_share"):
        if column in monthly:
            latest = monthly.dropna(subset=[column]).groupby(KINDERGARTEN_ID)[column].last()
            state[column] = latest.reindex(state.index).astype(float)
        else:
            state[column] = np.nan
    return state


def _plan_id(
    district: District, forecasts: pd.DataFrame, request: PlanRequest, model_version: str
) -> str:
    digest = hashlib.sha256()
    digest.update(district.fingerprint().encode())
    # the forecasts hashed as they are: as text first it was 0.85 s of a city plan's CPU (0.02)
    digest.update(pd.util.hash_pandas_object(forecasts, index=False).to_numpy().tobytes())
    digest.update(model_version.encode())
    fields = {
        k: (sorted(v.items()) if isinstance(v, Mapping) else v)
        for k, v in request.__dict__.items()
        if k != "previous_plan"
    }
    digest.update(repr(sorted(fields.items())).encode())
    if request.previous_plan is not None:
        digest.update(
            pd.util.hash_pandas_object(request.previous_plan.astype(str), index=False)
            .to_numpy()
            .tobytes()
        )
    return digest.hexdigest()[:12]


def build_plan(
    district: District,
    forecasts: pd.DataFrame,
    request: PlanRequest,
    *,
    pit_history: pd.DataFrame | None = None,
    model_version: str = "",
) -> PlanResult:
    """Build an optimised, explained plan for the period after the data (see module doc).

    Raises :class:`UserInputError` listing every problem with the request; an infeasible
    request that passes those checks is solved in its elastic form and the violation is stated
    in ``header["violations"]``; a solver time limit returns the best plan found with its gap in
    the header and a warning.
    """
    from models.allocation import (
        AllocationSettings,
        PinIndex,
        SolverOptions,
        equity_cost_share,
        equity_weights,
        optimise,
    )
    from models.allocation.comparison import compare_allocations, risk_neutral_settings
    from models.allocation.plan import allocation_losses
    from models.allocation.report import plan_lines, plan_summary, pool_marginal_values
    from models.needs import simulate_needs

    start = request.start if request.start is not None else district.last_month + 1
    start = pd.Period(start, "M")
    months = pd.period_range(start, periods=max(request.months, 1), freq="M")
    state = latest_state(district)
    kinds = district.kindergartens.set_index(KINDERGARTEN_ID)
    closed = (
        kinds["closed"] if "closed" in kinds else pd.Series(pd.NaT, index=kinds.index)
    ).reindex(state.index)
    closed_before = [pd.notna(c) and pd.Period(c, "M") < start for c in closed.tolist()]
    open_ids = [
        k
        for k, gone in zip(state.index, closed_before, strict=True)
        if k in kinds.index and not gone
    ]
    fallback = _with_fallback(district, forecasts, months)
    forecasts = fallback.forecasts
    forecast_ids = (
        set(forecasts[KINDERGARTEN_ID].astype(str)) if KINDERGARTEN_ID in forecasts else set()
    )
    ids = tuple(sorted(k for k in open_ids if k in forecast_ids))
    warnings = [
        plan_warnings.NO_FORECAST_FOR % {"kindergarten": k}
        for k in open_ids
        if k not in forecast_ids
    ]
    warnings += [
        plan_warnings.NO_MONTHLY_DATA_FOR % {"kindergarten": k}
        for k in _open_without_data(kinds, state.index, start)
    ]
    warnings += [
        plan_warnings.FALLBACK_FOR % {"kindergarten": k, "reason": reason}
        for k, reason in sorted(fallback.reasons.items())
        if k in ids
    ]
    warnings += [
        plan_warnings.FALLBACK_OF % {"target": t, "reason": reason}
        for t, reason in fallback.targets.items()
    ]
    problems = check_request(request, ids)
    if not ids:
        problems.append(
            Problem(
                "forecasts",
                "no kindergarten open at the start has a forecast",
                column=KINDERGARTEN_ID,
            )
        )
    pools = {
        r: float(request.pools[r])
        if r in request.pools
        else (np.inf if request.budget_nok is not None else 0.0)
        for r in RESOURCES
    }
    problems += check_pins_fit(request, pools, set(ids))
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) with the plan request", problems)

    state = state.loc[list(ids)]
    current = state[[SUPPLY_COLUMN[r] for r in RESOURCES]].to_numpy(float)
    too_much = [
        Problem(
            REQUEST,
            f"the pin takes away more {p.resource} FTE than the kindergarten has "
            f"({current[ids.index(p.kindergarten_id), RESOURCES.index(p.resource)]:g})",
            row=i,
            column="pins.value_fte",
            value=p.value_fte,
        )
        for i, p in enumerate(request.pins, start=1)
        if p.kind == "fix"
        and p.value_fte < 0
        and -p.value_fte > current[ids.index(p.kindergarten_id), RESOURCES.index(p.resource)]
    ]
    if too_much:
        raise UserInputError(f"{len(too_much)} problem(s) with the plan request", too_much)
    needs = simulate_needs(
        forecasts,
        kindergarten_ids=ids,
        months=months,
        current_fte=current,
        pit_history=pit_history,
        n_scenarios=request.n_scenarios,
        seed=request.seed,
        settings=request.norm_settings,
        spread=request.scenario_spread,
    )
    warnings += needs.warnings
    steps = np.array([request.step_fte.get(r, DEFAULT_STEP_FTE[r]) for r in RESOURCES])
    settings = AllocationSettings(
        step_fte=tuple(steps.tolist()),
        risk=request.risk,
        weights=NeedWeights(cvar_weight=request.tail_weight),
        equity_cost_share=equity_cost_share(request.equity_weight),
    )
    weights = settings.weights
    equity = equity_weights(
        state["low_income_share"].to_numpy(),
        state["minority_language_share"].to_numpy(),
        request.equity_weight,
    )
    index = {k: i for i, k in enumerate(ids)}
    options = SolverOptions(time_limit_s=request.time_limit_s, random_seed=request.seed)
    max_moves = moves_cap(request.max_moves, len(ids))
    solve = partial(
        optimise,
        needs,
        pools_fte=np.array([pools[r] for r in RESOURCES]),
        cost_per_fte_nok=np.array([fte_year_cost(request, r) for r in RESOURCES])
        * request.months
        / 12,
        equity=equity,
        budget_nok=request.budget_nok,
        max_moves=max_moves,
        pins=tuple(
            PinIndex(
                index[p.kindergarten_id],
                RESOURCES.index(p.resource),
                p.kind,
                p.value_fte,
                p.describe(),
            )
            for p in request.pins
        ),
        previous_change_fte=_previous_change(request.previous_plan, index),
        options=options,
        # the curves' losses once, for the plan and its risk-neutral re-solve (weighed anew)
        losses=allocation_losses(needs, settings, max_moves),
    )
    # HiGHS lets go of the GIL while it solves, so on two cores the risk-neutral re-solve (the
    # plan's terms without the tail weight; it does not depend on the plan) runs beside the
    # plan, then the pools' marginal values (three re-solves from the plan) beside the
    # comparisons and the summary; each solve is the one it was when run in turn
    beside = ThreadPoolExecutor(max_workers=1)
    try:
        pending_neutral = beside.submit(solve, settings=risk_neutral_settings(settings))
        problem, solution = solve(settings=settings)
        risk_neutral = pending_neutral.result()[1].change_fte
        pending_values = beside.submit(pool_marginal_values, problem, solution, options)
        compared = compare_allocations(
            needs,
            problem,
            solution.change_fte,
            settings=settings,
            equity=equity,
            children=(state["children_under3"] + state["children_over3"]).to_numpy(float),
            decisions=(state["vedtak_31"] + state["vedtak_37"]).to_numpy(float),
            options=options,
            risk_neutral_change_fte=risk_neutral,
        )
        summary = plan_summary(needs, problem, compared, weights)
        plan_id = _plan_id(district, forecasts, request, model_version)
        pool_values = pending_values.result()
    finally:
        beside.shutdown(wait=True, cancel_futures=True)
    gap = solution.mip_gap if np.isfinite(solution.mip_gap) else None
    if solution.time_limited:
        within = (
            plan_warnings.WITHIN_GAP % {"gap": f"{gap:.2%}"}
            if gap is not None
            else plan_warnings.NO_BOUND
        )
        warnings.append(
            plan_warnings.TIME_LIMIT % {"seconds": f"{request.time_limit_s:g}", "within": within}
        )
    for name, amount in solution.violations.items():
        warnings.append(plan_warnings.INFEASIBLE % {"name": name, "amount": f"{amount:g}"})

    lines = plan_lines(plan_id, needs, state, problem, solution, weights, months, pool_values)
    lines["forecast"] = [
        f"fallback: {fallback.reasons[k]}" if k in fallback.reasons else "model"
        for k in lines[KINDERGARTEN_ID]
    ]
    header: dict[str, object] = {
        "plan_id": plan_id,
        "period": f"{months[0].strftime('%Y-%m')}–{months[-1].strftime('%Y-%m')}",
        "pools_fte": {r: pools[r] for r in RESOURCES if np.isfinite(pools[r])},
        "budget_nok": request.budget_nok,
        "cost_per_fte_year_nok": {r: fte_year_cost(request, r) for r in RESOURCES},
        "step_fte": dict(zip(RESOURCES, steps.tolist(), strict=True)),
        "risk": request.risk,
        "tail_weight": request.tail_weight,
        "scenario_spread": request.scenario_spread,
        "equity_weight": request.equity_weight,
        "max_moves": request.max_moves,
        "moves_used": solution.moves_used,
        "pins": [p.describe() + (f" ({p.comment})" if p.comment else "") for p in request.pins],
        "n_scenarios": request.n_scenarios,
        "seed": request.seed,
        "scenario_source": needs.source,
        "forecast_origin": str(needs.origin),
        "model_version": model_version,
        "data_fingerprint": district.fingerprint(),
        "solver_status": solution.status,
        "mip_gap": gap,
        "solve_seconds": round(solution.solve_seconds, 3),
        "time_limited": solution.time_limited,
        "violations": solution.violations,
        "pool_marginal_value": pool_values,
        "spend_nok": {name: round(value, 2) for name, value in compared.spend_nok.items()},
        "simulated": district.simulated,
        "norm_settings": request.norm_settings.as_dict(),
        "weights": weights.__dict__.copy(),
        "warnings": warnings,
        "fallback_forecasts": {k: r for k, r in sorted(fallback.reasons.items()) if k in ids},
    }
    if district.simulated:
        from data.contract import SIMULATED_LABEL

        header["label"] = SIMULATED_LABEL
    return PlanResult(plan_id, header, lines, summary, district.simulated, compared, needs)


def moves_cap(max_moves: int | None, n_kindergartens: int) -> int:
    """The optimiser's cap on moved-out lines: None (no cap) → every line may move."""
    return n_kindergartens * len(RESOURCES) if max_moves is None else int(max_moves)


def planned_forecasts(
    district: District, forecasts: pd.DataFrame, months: pd.PeriodIndex
) -> pd.DataFrame:
    """The forecasts ``build_plan`` draws its scenarios from: the model's, plus the fallback
    for kindergartens it could not forecast (so the report redraws the very same scenarios)."""
    return _with_fallback(district, forecasts, months).forecasts


def _with_fallback(
    district: District, forecasts: pd.DataFrame, months: pd.PeriodIndex
) -> FallbackForecasts:
    """The forecasts with a fallback for every open kindergarten the model could not forecast
    well (recently opened or gapped; :mod:`models.forecast.fallback`), at the forecasts'
    origin (the data's last month when there are none)."""
    from models.needs import NEED_TARGETS

    has_rows = "origin" in forecasts.columns and len(forecasts)
    origin = (
        pd.Period(month_text(forecasts["origin"]).max(), "M") if has_rows else district.last_month
    )
    horizon = (months[-1] - origin).n
    targets = tuple(t for t in NEED_TARGETS if t in district.monthly.columns)
    if horizon < 1:
        return FallbackForecasts(forecasts, {})
    return with_fallback(district, forecasts, origin=origin, horizon=horizon, targets=targets)


def _open_without_data(kinds: pd.DataFrame, with_data: pd.Index, start: pd.Period) -> list[str]:
    """Kindergartens of the register open at ``start`` without a single monthly row: named in
    the warnings, since there is nothing to plan them from (no staff or children known)."""
    out = []
    for kid, row in kinds.iterrows():
        opened = row.get("opened")
        closed = row.get("closed")
        if str(kid) in with_data:
            continue
        if pd.notna(opened) and pd.Period(opened, "M") > start:
            continue
        if pd.notna(closed) and pd.Period(closed, "M") <= start:
            continue
        out.append(str(kid))
    return sorted(out)


def _previous_change(
    previous_plan: pd.DataFrame | None, index: dict[str, int]
) -> np.ndarray | None:
    """A previous plan's change per line (K, R); lines of unknown kindergartens are ignored
    (a kindergarten may have closed since)."""
    if previous_plan is None or previous_plan.empty:
        return None
    change = np.zeros((len(index), len(RESOURCES)))
    values = previous_plan["change_fte"].to_numpy(float)
    for i, (kid, resource) in enumerate(
        zip(
            previous_plan["kindergarten_id"].astype(str),
            previous_plan["resource"].astype(str),
            strict=True,
        )
    ):
        k = index.get(kid)
        if k is not None and resource in RESOURCES:
            change[k, RESOURCES.index(resource)] = values[i]
    return change


__all__ = [
    "DEFAULT_COST_PER_FTE_NOK",
    "DEFAULT_STEP_FTE",
    "DEFAULT_TAIL_WEIGHT",
    "SUPPLY_COLUMN",
    "Pin",
    "PinKind",
    "PlanRequest",
    "PlanResult",
    "build_plan",
    "latest_state",
    "moves_cap",
    "planned_forecasts",
]
