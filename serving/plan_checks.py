"""Checks of a planner's request before a plan is built: every problem at once, each naming
the option (column), the pin (row) and the rule it breaks."""

from __future__ import annotations

import numpy as np

from data.contract import RESOURCES
from data.errors import Problem
from models.allocation.plan import RISK_RANGE
from serving.plan_request import DEFAULT_STEP_FTE, REQUEST, Pin, PlanRequest, fte_year_cost


def check_request(request: PlanRequest, kindergarten_ids: tuple[str, ...]) -> list[Problem]:
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


def check_pins_fit(request: PlanRequest, pools: dict[str, float], known: set[str]) -> list[Problem]:
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
        cost = sum(p.value_fte * fte_year_cost(request, p.resource) * per_period for p in extra)
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
