"""A planner's request and the plan it makes: the pools, budget, pins and settings a plan is
built from (:class:`PlanRequest`), and the plan :func:`serving.planning.build_plan` returns
(:class:`PlanResult`). Money: ``cost_per_fte_nok`` is per FTE-year; a plan of ``months`` months
costs cost × months / 12 per FTE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from data.contract import RESOURCES
from models.allocation.curves import NeedWeights
from models.allocation.plan import DEFAULT_RISK, DEFAULT_SCENARIO_SPREAD
from models.allocation.plan import DEFAULT_STEP_FTE as ALLOCATION_STEP_FTE
from models.norms import NormSettings

if TYPE_CHECKING:
    from models.allocation.comparison import ComparedAllocations
    from models.needs import NeedScenarios

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
    #: models.allocation.DEFAULT_SCENARIO_SPREAD)
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


def fte_year_cost(request: PlanRequest, resource: str) -> float:
    """Cost of one FTE-year of ``resource`` under ``request`` (its own or the default)."""
    return float(request.cost_per_fte_nok.get(resource, DEFAULT_COST_PER_FTE_NOK[resource]))
