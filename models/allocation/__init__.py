"""The allocation optimiser: convex need curves from scenarios, a MILP over pools, budget, moves
and pins (HiGHS), today's proportional key, and explanations of each line."""

from models.allocation.curves import (
    EQUITY_COST_SHARE,
    EQUITY_TILT,
    NeedWeights,
    build_curves,
    cvar,
    equity_cost_share,
    equity_weights,
    shortfalls,
)
from models.allocation.milp import SolverOptions, solve_allocation
from models.allocation.plan import (
    DEFAULT_RISK,
    DEFAULT_SCENARIO_SPREAD,
    DEFAULT_STEP_FTE,
    RISK_RANGE,
    SPREAD_RANGE,
    AllocationSettings,
    optimise,
)
from models.allocation.problem import (
    AllocationProblem,
    AllocationSolution,
    ConvexCurve,
    NeedCap,
    PinIndex,
    convexify,
)
from models.allocation.proportional import largest_remainder, proportional_allocation

__all__ = [
    "DEFAULT_RISK",
    "DEFAULT_SCENARIO_SPREAD",
    "DEFAULT_STEP_FTE",
    "EQUITY_COST_SHARE",
    "EQUITY_TILT",
    "RISK_RANGE",
    "SPREAD_RANGE",
    "AllocationProblem",
    "AllocationSettings",
    "AllocationSolution",
    "ConvexCurve",
    "NeedCap",
    "NeedWeights",
    "PinIndex",
    "SolverOptions",
    "build_curves",
    "convexify",
    "cvar",
    "equity_cost_share",
    "equity_weights",
    "largest_remainder",
    "optimise",
    "proportional_allocation",
    "shortfalls",
    "solve_allocation",
]
