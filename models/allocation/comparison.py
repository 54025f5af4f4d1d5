"""The allocations a plan is compared with, all under the plan's own pools, budget, cost per FTE
and steps, each with what it spends.

* ``plan`` — the optimised allocation;
* ``equity_0`` — the plan re-solved with equity weight 0 (every kindergarten's need weighs the
  same), so a district sees what its fairness setting costs in unmet FTE-months;
* ``risk_neutral`` — the plan re-solved without the tail term (expected need only), so a district
  sees what insuring against bad months costs;
* ``proportional`` — today's key: each pool spread in proportion to children (resource pedagogues
  to § 31 + § 37 decisions); where only the budget limits a resource, the key spreads what the
  plan used of it; and when the pools cost more than the budget, every pool shrinks by the same
  share until the key fits the budget, in whole steps, with what rounding leaves given back a
  step at a time (so the key never spends money the plan may not, and leaves little unspent);
* ``none`` — nothing extra.

The plan summary, the plan pages and exports, and the benefit report all show these same arrays
(``PlanResult.compared``), so a figure cannot differ between them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from models.allocation.milp import SolverOptions
from models.allocation.plan import AllocationSettings, optimise
from models.allocation.problem import AllocationProblem
from models.allocation.proportional import proportional_allocation
from models.needs import NeedScenarios

PLAN, EQUITY_0, RISK_NEUTRAL, KEY, NOTHING = (
    "plan",
    "equity_0",
    "risk_neutral",
    "proportional",
    "none",
)
#: Every compared allocation, in the order tables show them: the plan, its two trade-off
#: re-solves, then the baselines.
COMPARED = (PLAN, EQUITY_0, RISK_NEUTRAL, KEY, NOTHING)
#: The re-solves that show what the plan's settings cost.
TRADE_OFFS = (EQUITY_0, RISK_NEUTRAL)
#: The baselines the plan's benefits are measured against.
BASELINES = (KEY, NOTHING)
#: Plain-word names for planners (bokmål) and for the English pages and reports.
COMPARED_LABELS: dict[str, dict[str, str]] = {
    "nb": {
        PLAN: "planen",
        EQUITY_0: "planen uten rettferdighetsvekt",
        RISK_NEUTRAL: "planen uten vekt på dårlige måneder",
        KEY: "fordelingsnøkkel (i dag)",
        NOTHING: "ingen ekstra stillinger",
    },
    "en": {
        PLAN: "plan",
        EQUITY_0: "plan without the equity weight",
        RISK_NEUTRAL: "plan without the tail weight (risk-neutral)",
        KEY: "proportional key (today)",
        NOTHING: "no pool",
    },
}


@dataclass(frozen=True)
class ComparedAllocations:
    """(K, R) extra FTE per compared allocation (kindergartens in ``kindergarten_ids`` order,
    resources in the problem's order) and what each spends over the plan period, NOK."""

    kindergarten_ids: tuple[str, ...]
    resources: tuple[str, ...]
    changes: dict[str, np.ndarray]
    spend_nok: dict[str, float]

    def names(self) -> tuple[str, ...]:
        return tuple(name for name in COMPARED if name in self.changes)


class KeyTerms(Protocol):
    """What the proportional key shares with the plan: pools (``inf`` where only the budget
    limits), budget, cost per FTE over the plan period and steps, per resource. An
    :class:`AllocationProblem` has them, and so has the decision backtest's planned allocation."""

    @property
    def resources(self) -> tuple[str, ...]: ...
    @property
    def pools_fte(self) -> np.ndarray: ...
    @property
    def budget_nok(self) -> float | None: ...
    @property
    def step_fte(self) -> np.ndarray: ...
    @property
    def cost_per_fte_nok(self) -> np.ndarray: ...


def key_allocation(
    problem: KeyTerms,
    *,
    children: np.ndarray,
    decisions: np.ndarray,
    plan_change_fte: np.ndarray,
) -> np.ndarray:
    """The proportional key under the plan's pools, budget, cost per FTE and steps (see the
    module doc); its spend never exceeds the budget."""
    used = np.maximum(np.asarray(plan_change_fte).sum(axis=0), 0.0)
    pools = np.where(np.isfinite(problem.pools_fte), problem.pools_fte, used)
    pools = np.maximum(pools, 0.0)
    if problem.budget_nok is not None:
        pools = _pools_within_budget(
            pools,
            np.asarray(problem.step_fte, dtype=float),
            np.asarray(problem.cost_per_fte_nok, dtype=float),
            max(problem.budget_nok, 0.0),
        )
    return proportional_allocation(
        children=np.asarray(children, dtype=float),
        decisions=np.asarray(decisions, dtype=float),
        pools_fte=pools,
        step_fte=np.asarray(problem.step_fte, dtype=float),
        resources=problem.resources,
    )


def _pools_within_budget(
    pools: np.ndarray, steps: np.ndarray, cost: np.ndarray, budget: float
) -> np.ndarray:
    """Pools in whole steps costing at most ``budget``: every pool shrunk by the same share and
    rounded down, then the money rounding left over given back one step at a time to the pool
    furthest below its share (never above its own size)."""
    full_cost = float((pools * cost).sum())
    if full_cost <= budget:
        return pools
    target = pools * budget / full_cost
    n_steps = np.floor(target / steps + 1e-9)
    most = np.floor(pools / steps + 1e-9)
    while True:
        spent = float((n_steps * steps * cost).sum())
        room = (n_steps < most) & (spent + steps * cost <= budget + 1e-6)
        if not room.any():
            return n_steps * steps
        behind = np.where(room, (target - n_steps * steps) / np.maximum(pools, 1e-12), -np.inf)
        n_steps[int(np.argmax(behind))] += 1


def risk_neutral_settings(settings: AllocationSettings) -> AllocationSettings:
    """The plan's settings without the tail term: what ``risk_neutral`` is solved with."""
    return replace(settings, weights=replace(settings.weights, cvar_weight=0.0))


def compare_allocations(
    needs: NeedScenarios,
    problem: AllocationProblem,
    plan_change_fte: np.ndarray,
    *,
    settings: AllocationSettings,
    equity: np.ndarray,
    children: np.ndarray,
    decisions: np.ndarray,
    options: SolverOptions | None = None,
    risk_neutral_change_fte: np.ndarray | None = None,
) -> ComparedAllocations:
    """The plan, its re-solves at equity weight 0 and risk-neutral (same pools, budget, moves,
    pins and previous plan), the key and nothing, each with its spend.
    ``risk_neutral_change_fte``: the risk-neutral re-solve when the caller already has it
    (:func:`optimise` with :func:`risk_neutral_settings` under the plan's terms: the planning
    service solves it beside the plan, as it does not depend on the plan's solution)."""

    def resolve(equity_used: np.ndarray, resolved: AllocationSettings) -> np.ndarray:
        _, solution = optimise(
            needs,
            pools_fte=problem.pools_fte,
            cost_per_fte_nok=problem.cost_per_fte_nok,
            equity=equity_used,
            settings=resolved,
            budget_nok=problem.budget_nok,
            max_moves=problem.max_moves,
            pins=problem.pins,
            previous_change_fte=problem.previous_change_fte,
            options=options,
            losses=problem.curve_losses,  # the same scenarios and settings: weighted anew only
        )
        return solution.change_fte

    plan = np.asarray(plan_change_fte, dtype=float)
    changes = {
        PLAN: plan,
        # a bounded tilt solved the equity-0 plan first, under these very terms
        EQUITY_0: problem.neutral_change_fte
        if problem.neutral_change_fte is not None
        else resolve(np.ones(len(equity)), settings),
        RISK_NEUTRAL: np.asarray(risk_neutral_change_fte, dtype=float)
        if risk_neutral_change_fte is not None
        else resolve(np.asarray(equity, dtype=float), risk_neutral_settings(settings)),
        KEY: key_allocation(problem, children=children, decisions=decisions, plan_change_fte=plan),
        NOTHING: np.zeros_like(plan),
    }
    return ComparedAllocations(
        kindergarten_ids=tuple(problem.kindergarten_ids),
        resources=tuple(problem.resources),
        changes=changes,
        spend_nok={name: problem.spend_nok(change) for name, change in changes.items()},
    )
