"""The allocation problem as plain data: convex need curves per kindergarten, pools, budget,
moves, pins and the previous plan; and the solution the optimiser returns.

Units: FTE (årsverk) for every quantity of staff; objective values are *weighted unmet
FTE-months* (a position short for one month = 1 before weights); money in NOK for the plan period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

PinKind = Literal["fix", "floor", "ban"]


@dataclass(frozen=True)
class ConvexCurve:
    """A convex, non-increasing piecewise-linear cost of one kindergarten's extra supply ``y``.

    ``y`` (FTE) is a weighted sum of the kindergarten's changes per resource
    (``coefficients[r]`` FTE of supply per FTE of change of resource r, e.g. a pedagogue also
    counts as staff). ``values[j]`` is the exact cost at ``y0 + j·dy``; between grid points the
    curve is linear and past the end it continues with the last slope.
    """

    kindergarten: int
    coefficients: tuple[float, ...]
    y0: float
    dy: float
    values: np.ndarray
    need: str = ""

    @property
    def slopes(self) -> np.ndarray:
        """Cost change per FTE on each grid segment (non-decreasing, ≤ 0)."""
        return np.diff(self.values) / self.dy

    def __call__(self, y: float | np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        grid = self.y0 + self.dy * np.arange(len(self.values))
        inside = np.interp(y, grid, self.values)
        last_slope = self.slopes[-1] if len(self.values) > 1 else 0.0
        beyond = self.values[-1] + last_slope * (y - grid[-1])
        return np.where(y > grid[-1], beyond, inside)


def convexify(values: np.ndarray) -> np.ndarray:
    """Make sampled values exactly convex and non-increasing (removes floating-point noise only:
    the inputs are exact samples of a convex non-increasing function)."""
    if len(values) < 2:
        return values.astype(float)
    slopes = np.minimum(np.maximum.accumulate(np.diff(values)), 0.0)
    return np.concatenate([[values[0]], values[0] + np.cumsum(slopes)])


class CurveTable:
    """Every curve's grid as flat arrays, evaluated like :meth:`ConvexCurve.__call__`
    (``np.interp`` inside the grid, the last slope beyond it) for many curves at once — bit for
    bit the same values, so the plan, its need cost and its explanations do not depend on which
    of the two evaluated a curve."""

    def __init__(
        self,
        kindergarten: np.ndarray,
        coefficients: np.ndarray,
        y0: np.ndarray,
        dy: np.ndarray,
        values: list[np.ndarray],
    ) -> None:
        self.kindergarten = kindergarten
        self.coefficients = coefficients
        self.y0, self.dy = y0, dy
        self.length = np.array([len(v) for v in values])
        self.offset = np.concatenate([[0], np.cumsum(self.length)[:-1]]).astype(int)
        self.values = np.concatenate([np.asarray(v, dtype=float) for v in values])

    @classmethod
    def of(cls, curves: list[ConvexCurve]) -> CurveTable:
        return cls(
            np.array([c.kindergarten for c in curves], dtype=int),
            np.array([c.coefficients for c in curves], dtype=float),
            np.array([c.y0 for c in curves], dtype=float),
            np.array([c.dy for c in curves], dtype=float),
            [c.values for c in curves],
        )

    def supply(self, change_fte: np.ndarray) -> np.ndarray:
        """Each curve's extra supply ``y`` for a change (K×R FTE). The coefficients are 0 or 1
        with at most two members per curve (staff + pedagogue), so the sum is exact in any
        order, as ``np.dot`` per curve gave it."""
        change = np.asarray(change_fte, dtype=float)
        return (self.coefficients * change[self.kindergarten]).sum(axis=1)

    def __call__(self, y: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
        """Cost of curve ``which[i]`` (all curves when None) at ``y[i]``."""
        pick = np.arange(len(self.y0)) if which is None else which
        y0, dy, n, start = self.y0[pick], self.dy[pick], self.length[pick], self.offset[pick]
        last = n - 1
        # the grid segment j with grid[j] <= y < grid[j + 1], as np.interp's search finds it
        j = np.clip(np.floor((y - y0) / dy), 0, np.maximum(last - 1, 0)).astype(int)
        j = np.where((j > 0) & (y0 + dy * j > y), j - 1, j)
        j = np.where((j + 1 < last) & (y0 + dy * (j + 1) <= y), j + 1, j)
        left, right = y0 + dy * j, y0 + dy * (j + 1)
        f_left = self.values[start + j]
        f_right = self.values[start + np.minimum(j + 1, last)]
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (f_right - f_left) / (right - left)
            inside = np.where(y == left, f_left, slope * (y - left) + f_left)
        first, final = self.values[start], self.values[start + last]
        grid_end = y0 + dy * last
        inside = np.where(y < y0, first, np.where(y >= grid_end, final, inside))
        final_slope = np.where(
            n > 1, (final - self.values[start + np.maximum(last - 1, 0)]) / dy, 0.0
        )
        beyond = final + final_slope * (y - grid_end)
        return np.where(y > grid_end, beyond, inside)

    def gains(
        self, change_fte: np.ndarray, step_fte: np.ndarray, which: np.ndarray | None = None
    ) -> np.ndarray:
        """(K, R) weighted unmet need one more step (``step_fte`` per resource) on each line
        would avoid, the rest of the change as it is; from the curves ``which`` only (all when
        None), the others' lines 0. Each line's curves are added in curve order, as a loop over
        them adds them."""
        change = np.asarray(change_fte, dtype=float)
        gains = np.zeros_like(change, dtype=float)
        pick = np.arange(len(self.y0)) if which is None else np.asarray(which, dtype=int)
        y = (self.coefficients[pick] * change[self.kindergarten[pick]]).sum(axis=1)
        now = self(y, pick)
        for r in range(change.shape[1]):
            on = np.nonzero(self.coefficients[pick, r])[0]
            curves = pick[on]
            after = self(y[on] + self.coefficients[curves, r] * step_fte[r], curves)
            # np.add.at adds repeated lines one after the other, in curve order
            np.add.at(gains, (self.kindergarten[curves], np.full(len(on), r)), now[on] - after)
        return gains


@dataclass(frozen=True)
class CurveLosses:
    """The curves' grids and the two unweighted parts of their values, the expected loss and
    its CVaR, as built from one set of need scenarios with one set of steps, removal caps, risk
    and need weights (``built_with``, the CVaR weight left out): a plan and its comparisons
    (equity weight 0, risk-neutral) weigh the same parts differently, so they are built once."""

    needs: object  #: the scenarios they were built from (compared by identity)
    built_with: tuple[object, ...]
    #: per curve: kindergarten, coefficients, y0, dy, need
    grids: tuple[tuple[int, tuple[float, ...], float, float, str], ...]
    mean: tuple[np.ndarray, ...]
    tail: tuple[np.ndarray, ...]

    def fits(self, needs: object, built_with: tuple[object, ...]) -> bool:
        return self.needs is needs and self.built_with == built_with


@dataclass(frozen=True)
class PinIndex:
    """A planner's pin in index form: kindergarten k, resource r, kind and extra FTE."""

    kindergarten: int
    resource: int
    kind: PinKind
    value_fte: float = 0.0
    label: str = ""


@dataclass(frozen=True)
class NeedCap:
    """A cap on the plan's *equity-neutral* need: Σ over curves of curve(y) / ``scale`` ≤
    ``cap``. Each curve's values carry its kindergarten's equity weight as a factor (``scale``,
    one per curve, in ``curves`` order), so dividing by it gives the need every kindergarten
    weighs the same; the cap keeps the equity tilt within a bound of the neutral optimum
    (:func:`models.allocation.plan.optimise`)."""

    scale: np.ndarray
    cap: float


@dataclass
class AllocationProblem:
    """Everything the MILP needs; K kindergartens, R resources.

    ``pools_fte[r]`` is ``inf`` when a resource has no pool (only the budget limits it);
    ``cost_per_fte_nok[r]`` is the cost of one FTE over the plan period. ``current_fte`` bounds
    what a move can take away; ``previous_change_fte`` is the plan the churn term stays near.
    """

    kindergarten_ids: tuple[str, ...]
    resources: tuple[str, ...]
    step_fte: np.ndarray
    cost_per_fte_nok: np.ndarray
    curves: list[ConvexCurve]
    pools_fte: np.ndarray
    current_fte: np.ndarray
    budget_nok: float | None = None
    max_moves: int = 0
    pins: tuple[PinIndex, ...] = ()
    previous_change_fte: np.ndarray | None = None
    #: the equity tilt's bound (None: the tilted objective alone decides)
    need_cap: NeedCap | None = None
    #: a feasible plan (K×R FTE) the solver starts from (None: the greedy plan or the pins)
    start_change_fte: np.ndarray | None = None
    #: when the equity tilt was bounded: the plan with every kindergarten weighing the same,
    #: solved first under the same terms (the plan's equity-0 comparison, without a re-solve)
    neutral_change_fte: np.ndarray | None = None
    #: objective units per FTE of change away from the previous plan (small: a tie-breaker that
    #: keeps plans stable, far below the value of covering a need)
    churn_weight: float = 0.01
    #: objective units per NOK of net new spending: 0.01 per million NOK, so money never outweighs
    #: a need but a pool FTE with no value anywhere is left unspent
    cost_weight_per_nok: float = 1e-8
    #: what the curves were weighted from (reused by the comparisons' re-solves)
    curve_losses: CurveLosses | None = None

    @property
    def n_kindergartens(self) -> int:
        return len(self.kindergarten_ids)

    @property
    def n_resources(self) -> int:
        return len(self.resources)

    def spend_nok(self, change_fte: np.ndarray) -> float:
        """Net cost of a change (K×R FTE) over the plan period: FTE added minus removed, per
        resource, × cost per FTE — what every compared allocation is shown to spend."""
        return float((np.asarray(change_fte).sum(axis=0) * self.cost_per_fte_nok).sum())

    @property
    def curve_table(self) -> CurveTable:
        """The curves as one :class:`CurveTable`, built once per list of curves."""
        cached = self.__dict__.get("_curve_table")
        if cached is None or cached[0] is not self.curves:
            cached = (self.curves, CurveTable.of(self.curves))
            self.__dict__["_curve_table"] = cached
        return cached[1]

    def need_cost(self, change_fte: np.ndarray, scale: np.ndarray | None = None) -> float:
        """Σ over curves of the weighted unmet need for a change (K×R FTE) — the part of the
        objective that measures need, without money, churn or tie-breaking; each curve divided
        by ``scale`` (one per curve) when given."""
        if not self.curves:
            return 0.0
        table = self.curve_table
        values = table(table.supply(change_fte))
        if scale is not None:
            values = values / np.asarray(scale, dtype=float)
        total = 0.0
        for value in values.tolist():  # curve after curve, so the sum is the loop's to the bit
            total += value
        return total


@dataclass
class AllocationSolution:
    """The optimiser's answer: FTE added and removed per kindergarten × resource, and how good."""

    add_fte: np.ndarray
    remove_fte: np.ndarray
    objective: float
    need_cost: float
    status: str
    mip_gap: float
    solve_seconds: float
    time_limited: bool = False
    #: elastic slack per violated constraint (empty when the request was feasible)
    violations: dict[str, float] = field(default_factory=dict)
    pool_used_fte: np.ndarray | None = None
    moves_used: int = 0

    @property
    def change_fte(self) -> np.ndarray:
        return self.add_fte - self.remove_fte
