"""From need scenarios to the optimiser's convex curves, and the plain measures a planner reads.

Per kindergarten there are three curves, each a function of the extra FTE it gets:

* **staff** — staffing-norm shortfall (weight ``legal``) plus the shortfall below the quality
  buffer need × 1.1 (weight ``quality``), against *effective* supply (contracted × (1 − sick
  leave)); extra pedagogues count as staff too, so the curve's supply is staff + pedagogue change.
* **pedagogue** — pedagogue-norm shortfall in whole positions (weight ``legal``), on paper: the
  norm counts positions, and a sick pedagogue's hours are covered by the staff curve's supply.
* **resource_pedagogue** — § 31/§ 37 hours not delivered, in FTE (weight ``special_needs``),
  against effective resource-pedagogue supply.

Each curve is eq_k × (E[L] + cvar_weight · CVaR_risk[L]) with L a scenario's weighted shortfall
summed over the months (FTE-months) and eq_k the kindergarten's equity weight. CVaR is taken per
kindergarten and curve, not district-wide: it keeps the MILP separable and small, and the sum of
per-kindergarten CVaRs bounds the district's tail from above (CVaR is subadditive).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from data.contract import RESOURCES
from models.allocation.problem import ConvexCurve, CurveLosses, convexify
from models.needs import NeedScenarios

#: sick leave is capped here when converting effective need to contracted FTE
MAX_SICK_LEAVE = 0.95


@dataclass(frozen=True)
class NeedWeights:
    """Objective weights per FTE-month short (settings shown with every plan)."""

    legal: float = 10.0  #: staffing and pedagogue norm shortfall
    special_needs: float = 3.0  #: § 31/§ 37 hours not delivered
    quality: float = 1.0  #: shortfall below the quality buffer
    quality_buffer: float = 1.1  #: staffing need × this = the quality level
    #: weight of the CVaR term beside the expectation. 0.25, not more: the CVaR is taken per
    #: kindergarten and summed, which already overstates the district's tail (CVaR is
    #: subadditive), and on simulated truth (3 seeds) every 0.25 of weight cost about 0.01 of
    #: regret in realised unmet FTE-months — a modest premium for covering bad years
    cvar_weight: float = 0.25


#: extra weight per unit of (low-income share + minority-language share) at equity knob 1.0
EQUITY_TILT = 0.25


#: per unit of the equity knob, the share of what the pools buy (expected need, every
#: kindergarten weighing the same) the equity tilt may give up (see :func:`equity_cost_share`).
#: 0.003: chosen on the decision backtest's tuning seeds 1–3 of both simulator families at
#: knob 1 (cohort: 0 … 0.05 and unbounded, capacity: 0, 0.001, 0.003 and unbounded;
#: benchmarks/README.md, 2026-12-07); from 0.01 up the bound hardly binds there — the
#: unbounded tilt gives up about 1 % in expectation, yet up to 0.08 of regret on what happened
EQUITY_COST_SHARE = 0.003


def equity_cost_share(equity_weight: float) -> float | None:
    """The bound on the equity tilt's cost at knob ``equity_weight``: the plan leans toward
    poorer areas only among plans whose expected unmet need, every kindergarten weighing the
    same, is within ``equity_weight × EQUITY_COST_SHARE`` of what the pools buy from the
    neutral optimum (None at knob 0: no tilt to bound).

    Why a bound: unbounded, the tilt (weights 1.05–1.32 in the simulated districts) cost
    0.03–0.08 of regret in realised unmet FTE-months on simulated truth
    (``benchmarks/README.md``, bench_allocation) while giving up under 1 % of what the pools
    buy in the plan's own expectation: it moved FTE on many near-equal expected needs where the
    forecast cannot tell which is larger. Bounded, it still decides close calls toward poorer
    areas (see :func:`equity_weights`) but makes fewer of them."""
    return equity_weight * EQUITY_COST_SHARE if equity_weight > 0 else None


def equity_weights(
    low_income_share: np.ndarray, minority_language_share: np.ndarray, equity_weight: float
) -> np.ndarray:
    """1 + equity_weight × EQUITY_TILT × (low-income share + minority-language share); missing
    shares count 0.

    At the default knob 1.0 a kindergarten where half the children are in low-income families
    and half speak a minority language weighs its unmet need 1.25 times as much as one with
    neither, and the extreme (every child both) 1.5 times. Why a tilt and not more: the norms
    are the same right for every child, so an unmet norm in a well-off area is still a breach;
    the equity weight should decide between comparable needs, moving FTE toward poorer areas,
    not override a clearly larger need elsewhere. The two shares also overlap (correlation
    ≈ 0.7 in the simulated district), so their sum counts much the same children twice. The knob
    used to mean 1 + knob × (sum of shares), four times this tilt; on simulated truth (3 seeds,
    ``benchmarks/bench_allocation.py``) that cost about 0.1 of regret in realised unmet
    FTE-months; this tilt costs about 0.05 on the true future and 0.01–0.03 in the engine's
    plans.
    """
    low = np.nan_to_num(np.asarray(low_income_share, dtype=float))
    minority = np.nan_to_num(np.asarray(minority_language_share, dtype=float))
    return 1.0 + equity_weight * EQUITY_TILT * (low + minority)


def cvar(losses: np.ndarray, risk: float) -> np.ndarray:
    """Mean of the worst (1 − risk) share of scenarios along axis 0 (fractional scenarios
    weighted exactly), e.g. risk 0.9 → mean of the worst 10 %."""
    n = losses.shape[0]
    tail = (1.0 - risk) * n
    ordered = -np.sort(-losses, axis=0)
    if tail <= 0:
        return ordered[0]
    whole = min(math.floor(tail + 1e-9), n)
    total = ordered[:whole].sum(axis=0)
    if whole < n and tail - whole > 1e-9:
        total = total + (tail - whole) * ordered[whole]
    return total / min(tail, n)


def shortfalls(
    needs: NeedScenarios, change_fte: np.ndarray, buffer: float = 1.1
) -> dict[str, np.ndarray]:
    """Unweighted shortfall (S, K, M) per need for a change (K, R) in FTE: ``staffing`` and
    ``quality`` in effective FTE, ``pedagogue`` in positions, ``special_needs`` in FTE."""
    change = np.asarray(change_fte, dtype=float)
    staff_i, ped_i, res_i = (RESOURCES.index(r) for r in RESOURCES)
    staff_supply = needs.effective_supply(
        needs.current_fte[:, staff_i] + change[:, staff_i] + change[:, ped_i]
    )
    staff_need = needs.staff_need_fte
    return {
        "staffing": np.maximum(staff_need - staff_supply, 0.0),
        "quality": np.maximum(buffer * staff_need - staff_supply, 0.0),
        "pedagogue": np.maximum(
            needs.pedagogue_need - (needs.current_fte[:, ped_i] + change[:, ped_i])[None, :, None],
            0.0,
        ),
        "special_needs": np.maximum(
            needs.special_needs_fte
            - needs.effective_supply(needs.current_fte[:, res_i] + change[:, res_i]),
            0.0,
        ),
    }


def _grid_step(steps: list[float]) -> float:
    milli = [round(s * 1000) for s in steps]
    return math.gcd(*milli) / 1000.0


def build_curves(
    needs: NeedScenarios,
    *,
    step_fte: np.ndarray,
    remove_cap_fte: np.ndarray,
    risk: float,
    equity: np.ndarray,
    weights: NeedWeights | None = None,
    losses: CurveLosses | None = None,
) -> list[ConvexCurve]:
    """The three curves per kindergarten, sampled exactly on the step grid from ``y0`` (the most
    a move could take away) to one step past the point where no scenario is short; from
    ``losses`` when they were built with the same scenarios and settings."""
    w = weights or NeedWeights()
    built = curve_losses(
        needs, step_fte=step_fte, remove_cap_fte=remove_cap_fte, risk=risk, weights=w, reuse=losses
    )
    return weighted_curves(built, equity, w.cvar_weight)


def weighted_curves(
    losses: CurveLosses, equity: np.ndarray, cvar_weight: float
) -> list[ConvexCurve]:
    """Each curve's value eq_k × (E[L] + cvar_weight · CVaR[L]) on its grid (module doc)."""
    return [
        ConvexCurve(k, coef, y0, dy, convexify(equity[k] * (mean + cvar_weight * tail)), name)
        for (k, coef, y0, dy, name), mean, tail in zip(
            losses.grids, losses.mean, losses.tail, strict=True
        )
    ]


def _built_with(
    step_fte: np.ndarray, remove_cap_fte: np.ndarray, risk: float, w: NeedWeights
) -> tuple[object, ...]:
    return (
        tuple(np.asarray(step_fte, dtype=float).tolist()),
        np.asarray(remove_cap_fte, dtype=float).tobytes(),
        float(risk),
        (w.legal, w.special_needs, w.quality, w.quality_buffer),
    )


def curve_losses(
    needs: NeedScenarios,
    *,
    step_fte: np.ndarray,
    remove_cap_fte: np.ndarray,
    risk: float,
    weights: NeedWeights,
    reuse: CurveLosses | None = None,
) -> CurveLosses:
    """Every curve's grid with the expected loss and its CVaR at each grid point (unweighted by
    equity and the CVaR weight): the costly part of :func:`build_curves`. ``reuse`` is returned
    as it is when it was built from the same scenarios and settings."""
    w = weights
    built_with = _built_with(step_fte, remove_cap_fte, risk, w)
    if reuse is not None and reuse.fits(needs, built_with):
        return reuse
    staff_i, ped_i, res_i = (RESOURCES.index(r) for r in RESOURCES)
    sick = np.minimum(needs.sick_leave_rate, MAX_SICK_LEAVE)
    keep = 1.0 - sick
    staff_need, ped_need, res_need = (
        needs.staff_need_fte,
        needs.pedagogue_need,
        needs.special_needs_fte,
    )
    cur = needs.current_fte
    specs = [
        ("staff", (staff_i, ped_i), _grid_step([step_fte[staff_i], step_fte[ped_i]])),
        ("pedagogue", (ped_i,), float(step_fte[ped_i])),
        ("resource_pedagogue", (res_i,), float(step_fte[res_i])),
    ]
    grids: list[tuple[int, tuple[float, ...], float, float, str]] = []
    means: list[np.ndarray] = []
    tails: list[np.ndarray] = []
    for k in range(len(needs.kindergarten_ids)):
        for name, members, dy in specs:
            coef = np.zeros(len(RESOURCES))
            coef[list(members)] = 1.0
            y0 = -float(np.dot(coef, remove_cap_fte[k]))
            if name == "staff":
                base = cur[k, staff_i]
                flat = float(np.max(w.quality_buffer * staff_need[:, k] / keep[:, k])) - base
            elif name == "pedagogue":
                base = cur[k, ped_i]
                flat = float(np.max(ped_need[:, k])) - base
            else:
                base = cur[k, res_i]
                flat = float(np.max(res_need[:, k] / keep[:, k])) - base
            n_points = max(math.ceil((flat - y0) / dy - 1e-9), 0) + 2
            y = y0 + dy * np.arange(n_points)
            supply = base + y  # (J,)
            if name == "staff":
                eff = supply[None, None, :] * keep[:, k, :, None]
                need = staff_need[:, k, :, None]
                loss = w.legal * np.maximum(need - eff, 0).sum(axis=1) + w.quality * np.maximum(
                    w.quality_buffer * need - eff, 0
                ).sum(axis=1)
            elif name == "pedagogue":
                loss = w.legal * np.maximum(ped_need[:, k, :, None] - supply[None, None, :], 0).sum(
                    axis=1
                )
            else:
                eff = supply[None, None, :] * keep[:, k, :, None]
                loss = w.special_needs * np.maximum(res_need[:, k, :, None] - eff, 0).sum(axis=1)
            grids.append((k, tuple(coef), y0, dy, name))
            means.append(loss.mean(axis=0))
            tails.append(cvar(loss, risk))
    return CurveLosses(
        needs=needs,
        built_with=built_with,
        grids=tuple(grids),
        mean=tuple(means),
        tail=tuple(tails),
    )
