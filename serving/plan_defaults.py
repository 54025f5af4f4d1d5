"""Plan settings tuned on decisions, as an overlay on the plan request's built-in defaults.

``bemanning tune DATA --plans`` stores the chosen non-policy settings (risk level, tail weight,
scenario spread, steps) with the champion model version (:mod:`training.tuned_defaults`); a
loaded champion carries them as ``plan_defaults``. :func:`with_tuned_defaults` applies them to a
:class:`~serving.planning.PlanRequest`: a field still at its built-in default takes the tuned
value, a field the planner set keeps the planner's value. The built-in defaults stay in one
place (the request and ``serving.plan_options``); this module holds no second copy of them.

:func:`engine_planner` is the engine's plan path as the decision backtest calls it (training
must not import serving, so the backtest receives it).
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np
import pandas as pd

from data.contract import RESOURCES, District
from serving.planning import (
    PlanRequest,
    _with_fallback,
    build_plan,
    latest_state,
)
from training.decisions import DecisionPolicy, PlannedAllocation, PlanSettings

#: the PlanRequest fields a tuning may set (the rest is policy: pools, budget, equity, pins …)
TUNED_FIELDS = ("risk", "tail_weight", "scenario_spread", "step_fte")


def tuned_settings(champion: Any) -> dict[str, Any] | None:
    """The tuned-defaults record a loaded model carries (``plan_defaults``), or None."""
    record = getattr(champion, "plan_defaults", None)
    return dict(record) if record else None


def _at_default(request: PlanRequest, name: str) -> bool:
    built_in = next(f for f in fields(PlanRequest) if f.name == name)
    default = (
        built_in.default_factory()  # type: ignore[misc]
        if callable(built_in.default_factory)
        else built_in.default
    )
    value = getattr(request, name)
    if isinstance(default, dict):
        return dict(value) == default
    return bool(value == default)


def with_tuned_defaults(request: PlanRequest, champion: Any) -> PlanRequest:
    """``request`` with the champion's tuned settings in every tunable field the planner left
    at its built-in default (see module doc); unchanged when the champion has none."""
    record = tuned_settings(champion)
    if record is None:
        return request
    settings = PlanSettings.from_dict(record.get("settings", {}))
    tuned: dict[str, Any] = {
        "risk": settings.risk,
        "tail_weight": settings.tail_weight,
        "scenario_spread": settings.scenario_spread,
        "step_fte": dict(zip(RESOURCES, settings.step_fte, strict=True)),
    }
    changes = {name: tuned[name] for name in TUNED_FIELDS if _at_default(request, name)}
    return replace(request, **changes) if changes else request


def tuned_defaults_note(champion: Any) -> dict[str, Any] | None:
    """What a plan header shows about the tuned defaults: the settings, the backtested regret
    they reached, at which equity weight and origins (None when there are none)."""
    record = tuned_settings(champion)
    if record is None:
        return None
    return {
        key: record[key]
        for key in ("settings", "regret", "default_regret", "equity_weight", "origins", "study")
        if key in record
    }


def request_for(policy: DecisionPolicy, settings: PlanSettings) -> PlanRequest:
    """The plan request a decision-backtest origin plans with."""
    return PlanRequest(
        pools=dict(policy.pools),
        budget_nok=policy.budget_nok,
        months=policy.months,
        risk=settings.risk,
        tail_weight=settings.tail_weight,
        scenario_spread=settings.scenario_spread,
        step_fte=dict(zip(RESOURCES, settings.step_fte, strict=True)),
        equity_weight=policy.equity_weight,
        n_scenarios=policy.n_scenarios,
        seed=policy.seed,
    )


def engine_planner(
    known: District,
    forecasts: pd.DataFrame,
    pit_history: pd.DataFrame | None,
    policy: DecisionPolicy,
    settings: PlanSettings,
) -> PlannedAllocation:
    """``build_plan`` on the data known at an origin, as arrays (a
    :class:`training.decisions.Planner`)."""
    from models.allocation import equity_weights

    request = request_for(policy, settings)
    result = build_plan(known, forecasts, request, pit_history=pit_history)
    # the forecasts build_plan planned on: the model's plus the fallback for kindergartens it
    # could not forecast (recently opened, gapped), so the median-only plan sees the same ones
    months = pd.period_range(known.last_month + 1, periods=policy.months, freq="M")
    planned_on = _with_fallback(known, forecasts, months).forecasts
    lines = result.lines
    change = lines.pivot(index="kindergarten_id", columns="resource", values="change_fte")
    current = lines.pivot(index="kindergarten_id", columns="resource", values="current_fte")
    ids = tuple(str(k) for k in change.index)
    state = latest_state(known).loc[list(ids)]
    given = result.header.get("pools_fte", {})
    assert isinstance(given, dict)
    pools = np.array(
        [
            float(given[r]) if r in given else (np.inf if policy.budget_nok is not None else 0.0)
            for r in RESOURCES
        ]
    )
    # the plan's own cost per FTE and steps, so the key the backtest compares with is the plan's
    year_cost = result.header["cost_per_fte_year_nok"]
    step_fte = result.header["step_fte"]
    assert isinstance(year_cost, dict) and isinstance(step_fte, dict)
    cost = np.array([float(year_cost[r]) for r in RESOURCES]) * policy.months / 12
    steps = np.array([float(step_fte[r]) for r in RESOURCES])
    return PlannedAllocation(
        kindergarten_ids=ids,
        current_fte=current[list(RESOURCES)].to_numpy(float),
        change_fte=change[list(RESOURCES)].to_numpy(float),
        pools_fte=pools,
        cost_per_fte_nok=cost,
        equity=equity_weights(
            state["low_income_share"].to_numpy(),
            state["minority_language_share"].to_numpy(),
            policy.equity_weight,
        ),
        children=(state["children_under3"] + state["children_over3"]).to_numpy(float),
        decisions=(state["vedtak_31"] + state["vedtak_37"]).to_numpy(float),
        budget_nok=policy.budget_nok,
        step_fte=steps,
        forecasts=planned_on,
    )


__all__ = [
    "TUNED_FIELDS",
    "engine_planner",
    "request_for",
    "tuned_defaults_note",
    "tuned_settings",
    "with_tuned_defaults",
]
