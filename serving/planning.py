"""The planning service: forecasts + a planner's request → an optimised, explained plan.

The web app and the ``bemanning plan`` command call :func:`build_plan`. It checks the request
(every problem at once), draws need scenarios, solves the allocation MILP, compares it with the
proportional key, with no pool and with its own re-solves at equity weight 0 and risk-neutral
(all under the same pools and budget), and returns plan lines in the contract's format with their
explanations. Money: ``cost_per_fte_nok`` is per FTE-year; a plan of ``months`` months costs
cost × months / 12 per FTE.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH, RESOURCES, District
from data.errors import Problem, UserInputError
from data.periods import month_text
from models.allocation.curves import NeedWeights
from models.allocation.plan import DEFAULT_RISK, DEFAULT_SCENARIO_SPREAD, RISK_RANGE
from models.allocation.plan import DEFAULT_STEP_FTE as ALLOCATION_STEP_FTE
from models.forecast.fallback import FallbackForecasts, with_fallback
from models.norms import NormSettings
from serving import plan_warnings

if TYPE_CHECKING:
    from models.allocation.comparison import ComparedAllocations
    from models.needs import NeedScenarios
    from training.registry import LoadedModel

PinKind = Literal["fix", "floor", "ban"]

#: cost of one FTE-year per resource, NOK (settings shown with every plan: salary + social costs)
DEFAULT_COST_PER_FTE_NOK: Mapping[str, float] = {
    "staff": 650_000.0,
    "pedagogue": 780_000.0,
    "resource_pedagogue": 800_000.0,
}
#: allocation steps per resource, what a district can hire (models.allocation.DEFAULT_STEP_FTE)
DEFAULT_STEP_FTE: Mapping[str, float] = dict(zip(RESOURCES, ALLOCATION_STEP_FTE, strict=True))
#: contracted FTE columns of the monthly table, per resource
SUPPLY_COLUMN = {
    "staff": "staff_fte",
    "pedagogue": "pedagogue_fte",
    "resource_pedagogue": "resource_pedagogue_fte",
}
REQUEST = "plan request"
#: weight of the CVaR term in the objective, the optimiser's own default
DEFAULT_TAIL_WEIGHT = NeedWeights().cvar_weight


@dataclass(frozen=True)
class Pin:
    """A planner's decision the optimiser must respect exactly: ``fix`` a line's extra FTE,
    a ``floor`` under it, or ``ban`` any change (zero). A negative ``fix`` takes FTE away (a
    move; needs ``max_moves``)."""

    kindergarten_id: str
    resource: str
    kind: PinKind
    value_fte: float = 0.0
    comment: str = ""

    def describe(self) -> str:
        value = "" if self.kind == "ban" else f" {self.value_fte:g} FTE"
        return f"{self.kind} {self.kindergarten_id} {self.resource}{value}"


@dataclass(frozen=True)
class PlanRequest:
    """What a planner asks for. ``pools`` are extra FTE per resource; a resource without a pool
    is limited by ``budget_nok`` only (or gets nothing if there is no budget)."""

    pools: Mapping[str, float]
    budget_nok: float | None = None
    cost_per_fte_nok: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_COST_PER_FTE_NOK)
    )
    start: pd.Period | None = None
    months: int = 12
    #: CVaR level of the tail measure (not a quantile to cover): 0.9 → the worst 10 % of scenarios
    risk: float = DEFAULT_RISK
    #: weight of the tail measure (CVaR at ``risk``) beside the expected unmet need
    tail_weight: float = DEFAULT_TAIL_WEIGHT
    #: scale of the scenarios' normal scores (1 = the forecast's calibrated monthly quantiles;
    #: the built-in 0.6 was chosen on the decision backtest, models.allocation.plan)
    scenario_spread: float = DEFAULT_SCENARIO_SPREAD
    equity_weight: float = 1.0
    #: most kindergarten × resource lines existing FTE may be moved out of: 0 moves none (only
    #: the pools are spread), None sets no cap
    max_moves: int | None = 0
    pins: tuple[Pin, ...] = ()
    n_scenarios: int = 200
    seed: int = 0
    time_limit_s: float = 60.0
    previous_plan: pd.DataFrame | None = None
    step_fte: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_STEP_FTE))
    norm_settings: NormSettings = field(default_factory=NormSettings)


@dataclass
class PlanResult:
    """A plan: header (inputs, solver status, settings, each compared allocation's spend),
    lines (contract columns first, then explanations), and the summary of every compared
    allocation (plan, equity weight 0, risk-neutral, proportional key, no pool; see
    :mod:`models.allocation.comparison`), whose arrays ``compared`` carries so pages, exports
    and the report show the very same allocations — and the need scenarios it was optimised
    over, so nothing is drawn again."""

    plan_id: str
    header: dict[str, object]
    lines: pd.DataFrame
    summary: pd.DataFrame
    simulated: bool
    compared: ComparedAllocations | None = None
    scenarios: NeedScenarios | None = None

    @property
    def allocations(self) -> dict[str, np.ndarray]:
        """(K, R) extra FTE per compared allocation (kindergartens in ``scenarios`` order)."""
        return dict(self.compared.changes) if self.compared is not None else {}


def _check_request(request: PlanRequest, kindergarten_ids: tuple[str, ...]) -> list[Problem]:
    problems: list[Problem] = []
    for resource, value in request.pools.items():
        if resource not in RESOURCES:
            problems.append(
                Problem(
                    REQUEST,
                    "unknown resource; use staff, pedagogue or resource_pedagogue",
                    column="pools",
                    value=resource,
                )
            )
        elif not np.isfinite(value) or value < 0:
            problems.append(
                Problem(
                    REQUEST, "a pool cannot be negative", column=f"pools.{resource}", value=value
                )
            )
    for resource, value in request.cost_per_fte_nok.items():
        if resource not in RESOURCES:
            problems.append(
                Problem(REQUEST, "unknown resource", column="cost_per_fte_nok", value=resource)
            )
        elif not value > 0:
            problems.append(
                Problem(
                    REQUEST,
                    "cost per FTE must be positive",
                    column=f"cost_per_fte_nok.{resource}",
                    value=value,
                )
            )
    for resource, value in request.step_fte.items():
        if resource not in RESOURCES or not value > 0:
            problems.append(
                Problem(
                    REQUEST,
                    "steps must be positive, per known resource",
                    column=f"step_fte.{resource}",
                    value=value,
                )
            )
    checks = [
        (
            request.budget_nok is not None and request.budget_nok < 0,
            "budget_nok",
            "the budget cannot be negative",
            request.budget_nok,
        ),
        (request.months < 1, "months", "the plan needs at least one month", request.months),
        (
            not RISK_RANGE[0] <= request.risk <= RISK_RANGE[1],
            "risk",
            f"the risk level must be between {RISK_RANGE[0]:g} and {RISK_RANGE[1]:g}",
            request.risk,
        ),
        (
            request.equity_weight < 0,
            "equity_weight",
            "equity weight cannot be negative",
            request.equity_weight,
        ),
        (
            not (np.isfinite(request.tail_weight) and request.tail_weight >= 0),
            "tail_weight",
            "the tail weight must be a finite number ≥ 0",
            request.tail_weight,
        ),
        (
            not (np.isfinite(request.scenario_spread) and request.scenario_spread > 0),
            "scenario_spread",
            "the scenario spread must be a positive number",
            request.scenario_spread,
        ),
        (
            request.max_moves is not None and request.max_moves < 0,
            "max_moves",
            "max moves cannot be negative (leave it empty for no cap)",
            request.max_moves,
        ),
        (request.n_scenarios < 1, "n_scenarios", "at least one scenario", request.n_scenarios),
        (
            not request.time_limit_s > 0,
            "time_limit_s",
            "the time limit must be positive",
            request.time_limit_s,
        ),
    ]
    problems += [
        Problem(REQUEST, rule, column=col, value=val) for bad, col, rule, val in checks if bad
    ]
    known = set(kindergarten_ids)
    seen: dict[tuple[str, str], Pin] = {}
    for i, pin in enumerate(request.pins, start=1):
        if pin.kindergarten_id not in known:
            problems.append(
                Problem(
                    REQUEST,
                    row=i,
                    column="pins.kindergarten_id",
                    rule="pin on a kindergarten not in the plan",
                    value=pin.kindergarten_id,
                )
            )
        if pin.resource not in RESOURCES:
            problems.append(
                Problem(
                    REQUEST,
                    row=i,
                    column="pins.resource",
                    rule="unknown resource",
                    value=pin.resource,
                )
            )
            continue
        if pin.kind not in ("fix", "floor", "ban"):
            problems.append(
                Problem(
                    REQUEST, row=i, column="pins.kind", rule="use fix, floor or ban", value=pin.kind
                )
            )
            continue
        step = request.step_fte.get(pin.resource, DEFAULT_STEP_FTE[pin.resource])
        if pin.kind != "ban" and abs(pin.value_fte / step - round(pin.value_fte / step)) > 1e-6:
            problems.append(
                Problem(
                    REQUEST,
                    row=i,
                    column="pins.value_fte",
                    rule=f"not a whole number of {step:g}-FTE steps",
                    value=pin.value_fte,
                )
            )
        if pin.kind == "floor" and pin.value_fte < 0:
            problems.append(
                Problem(
                    REQUEST,
                    row=i,
                    column="pins.value_fte",
                    rule="a floor cannot be negative",
                    value=pin.value_fte,
                )
            )
        key = (pin.kindergarten_id, pin.resource)
        if key in seen:
            problems.append(
                Problem(
                    REQUEST,
                    row=i,
                    column="pins",
                    rule=f"second pin on the same line as {seen[key].describe()!r}",
                    value=pin.describe(),
                )
            )
        seen[key] = pin
    return problems


def _check_pins_fit(
    request: PlanRequest, pools: dict[str, float], known: set[str]
) -> list[Problem]:
    """Pins that together need more than a pool or the budget (naming the pins)."""
    problems: list[Problem] = []
    extra = [
        p
        for p in request.pins
        if p.kind in ("fix", "floor")
        and p.value_fte > 0
        and p.resource in RESOURCES
        and p.kindergarten_id in known
    ]
    for resource in RESOURCES:
        pinned = [p for p in extra if p.resource == resource]
        if pools[resource] < 0:
            continue
        total = sum(p.value_fte for p in pinned)
        pool = pools[resource]
        if pinned and total > pool + 1e-9 and request.max_moves == 0:
            names = ", ".join(p.describe() for p in pinned)
            problems.append(
                Problem(
                    REQUEST,
                    f"pins need {total:g} FTE of {resource} but the pool holds {pool:g}: {names}",
                    column=f"pools.{resource}",
                    value=pool,
                )
            )
    if request.budget_nok is not None and extra and request.max_moves == 0:
        per_period = request.months / 12.0
        cost = sum(p.value_fte * _cost(request, p.resource) * per_period for p in extra)
        if cost > request.budget_nok + 1e-6:
            names = ", ".join(p.describe() for p in extra)
            problems.append(
                Problem(
                    REQUEST,
                    f"pins cost {cost:,.0f} NOK but the budget is "
                    f"{request.budget_nok:,.0f} NOK: {names}",
                    column="budget_nok",
                    value=request.budget_nok,
                )
            )
    return problems


def _cost(request: PlanRequest, resource: str) -> float:
    return float(request.cost_per_fte_nok.get(resource, DEFAULT_COST_PER_FTE_NOK[resource]))


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
    problems = _check_request(request, ids)
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
    problems += _check_pins_fit(request, pools, set(ids))
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
    problem, solution = optimise(
        needs,
        pools_fte=np.array([pools[r] for r in RESOURCES]),
        cost_per_fte_nok=np.array([_cost(request, r) for r in RESOURCES]) * request.months / 12,
        equity=equity,
        settings=settings,
        budget_nok=request.budget_nok,
        max_moves=moves_cap(request.max_moves, len(ids)),
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
    )
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

    from models.allocation.comparison import compare_allocations
    from models.allocation.report import plan_lines, plan_summary, pool_marginal_values

    # the pools' marginal values (three re-solves) in a thread beside the comparisons (two):
    # HiGHS lets go of the GIL while it solves, so on two cores they overlap
    with ThreadPoolExecutor(max_workers=1) as beside:
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
        )
        pool_values = pending_values.result()
    plan_id = _plan_id(district, forecasts, request, model_version)
    lines = plan_lines(plan_id, needs, state, problem, solution, weights, months, pool_values)
    lines["forecast"] = [
        f"fallback: {fallback.reasons[k]}" if k in fallback.reasons else "model"
        for k in lines[KINDERGARTEN_ID]
    ]
    summary = plan_summary(needs, problem, compared, weights)
    header: dict[str, object] = {
        "plan_id": plan_id,
        "period": f"{months[0].strftime('%Y-%m')}–{months[-1].strftime('%Y-%m')}",
        "pools_fte": {r: pools[r] for r in RESOURCES if np.isfinite(pools[r])},
        "budget_nok": request.budget_nok,
        "cost_per_fte_year_nok": {r: _cost(request, r) for r in RESOURCES},
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
    "Pin",
    "PlanRequest",
    "PlanResult",
    "build_plan",
]


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
    from serving.plan_defaults import with_tuned_defaults

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
    return request, model.pipeline.predict(district, horizon=horizon)


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
    # plan_defaults builds on this module, hence the import here
    from serving.plan_defaults import tuned_defaults_note

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
