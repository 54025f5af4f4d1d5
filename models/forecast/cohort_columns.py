"""The cohort features of the children counts and the label base they give
(``cohort_features``, on by default): the birth cohorts estimated from the totals
(:mod:`features.age_cohorts`), the crossing of the age-3 line, the school leavers, the August
fill from the waiting list and the places free after the shift, and the structural count they
make, towards which the label's base moves by a weight fitted on the data so far.
"""

from __future__ import annotations

import numpy as np

from features.age_cohorts import (
    AUGUST,
    cohort_moves_ahead,
    learned_age_cohort_estimate,
    months_until,
)
from features.intake import expanding_blend_weight
from features.intake_mechanism import DEADLINE_MONTH
from models.forecast.bases import cycle_projections
from models.forecast.grid import PanelGrid, horizon_rows, point_in_time_column

#: Features from the estimated birth cohorts (``cohort_features``, on by default since
#: 2026-12-06), for the targets in :data:`COHORT_TARGETS`. Over-3 WAPE on the simulated city fell
#: 2.5 % (0.0475 → 0.0463; seeds 1–2, the benchmark's 2 origins, random states 0–1) and on the
#: district it was level (0.0492 → 0.0491; seeds 1–3, 8 origins); off by default until then
#: because on short histories (30 kindergartens from 2019) the over-3 intervals widened. Made the
#: default when the selection over both simulator families (tuning seeds 1–3, 2 origins,
#: ``benchmarks/bench_selection.py``) gave −2.0 % on the cohort family and −3.2 % on the capacity
#: family with the coverage unchanged. For under-3s a capacity-fill projection (the younger
#: cohort plus half the places free after the next August) was first 0.9 % worse on the capacity
#: family: the intake there is limited by demand as much as by places, and the cohort estimate
#: still had that family's school starters gone by July (they leave with the August shift there,
#: which put the free places 10 low). With the leaving month learned from the data and the fill
#: bounded by the waiting list (:data:`UNDER3_COHORT_FEATURES`) the under-3 WAPE fell 5.3 % on
#: the capacity family and was level on the cohort family (0.0604 → 0.0604, tuning seeds 1–3).
COHORT_FEATURES = (
    "target_cohort_crossing_ahead",
    "target_cohort_school_leavers_ahead",
    "target_cohort_carry",
    "target_cohort_carry_vs_base",
)
#: The cohort features of children under 3: the older under-3s who cross the age-3 line within
#: the horizon and the under-3s who stay, as for over-3s, and the August intake that refills the
#: group: the applicants waiting at t (from an origin before this year's application deadline,
#: the waiting list at last year's deadline: the list at t is what the last intake left), at
#: most half the places free after the next August (a child under 3 uses two), for target
#: months at or after that August (0 before it); the staying under-3s plus that fill, and that
#: less the label's base. Reading last year's deadline list before the deadline took under-3
#: WAPE 0.0846 → 0.0811 on the capacity family and 0.0558 → 0.0559 on the cohort family (tuning
#: seeds 1–3, 4 origins; from the structural count alone, origins August–February, 0.35–0.47 →
#: 0.19–0.23 on the capacity family).
UNDER3_COHORT_FEATURES = (
    "target_cohort_crossing_ahead",
    "target_cohort_carry",
    "target_under3_intake_ahead",
    "target_under3_after_intake",
    "target_under3_after_intake_vs_base",
)
COHORT_TARGETS = ("children_over3", "children_under3")
#: Targets whose label base moves towards their structural count (the staying under-3s plus the
#: August fill) for target months at or after the next August, by a weight fitted on the data
#: so far and shrunk towards 0 (the intake-cycle base alone) by this many rows' worth, and the
#: fitted weight below which the intake-cycle base is left alone. Children under 3: on the cohort
#: family (intake towards a target, the waiting list no bound) the weight came out 0.03–0.13: it
#: moved the base by under a child and left the WAPE level, but it drifts with the origin, and
#: the calibration round (earlier origins, other weights) widened the under-3 intervals (80 %
#: coverage 0.808 → 0.851, tuning seeds 1–3). On the capacity family it is 0.35–0.7 for horizons
#: before a year. Children over 3 (the structural count: y(t) + the crossing − the school leavers,
#: without the over-3 intake): the weight came out 0.6–0.85 on the capacity family and 0.13–0.41
#: on the cohort family, whose large August over-3 intake the count leaves out; there any weight
#: cost 4.1 % of over-3 WAPE and 5 points of coverage (tuning seeds 1–3), so the base moves only
#: where the data give the structural count more weight than the intake cycle (0.5): over-3 WAPE
#: −14.7 % on the capacity family, −1.2 % on the cohort family.
COHORT_BASE_MIN_WEIGHT: dict[str, float] = {"children_under3": 0.2, "children_over3": 0.5}
COHORT_BASE_PRIOR_PAIRS = 100.0
#: Point-in-time columns the under-3 fill reads (NaN where the table lacks them).
FILL_INPUTS = ("waiting_list", "waiting_list_at_deadline", "places_free_after_next_august")


def cohort_feature_names(target: str) -> tuple[str, ...]:
    """The cohort features of ``target``'s rows (none for a target outside
    :data:`COHORT_TARGETS`)."""
    if target == "children_under3":
        return UNDER3_COHORT_FEATURES
    return COHORT_FEATURES if target in COHORT_TARGETS else ()


def _cohort_moves(
    grid: PanelGrid, horizon: int, k: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(crossing, school leavers) within ``horizon`` of rows (k, t), from the birth cohorts
    estimated at t (:func:`features.age_cohorts.learned_age_cohort_estimate`: months ≤ t
    only, the crossing re-anchored each August by the weight the data so far support)."""
    calendar_month = grid.calendar_months()
    estimate = grid.derive(
        ("age_cohorts",),
        lambda: learned_age_cohort_estimate(
            grid.targets["children_under3"], grid.targets["children_over3"], calendar_month
        ),
    )
    crossing, leavers = grid.derive(
        ("cohort_moves", horizon),
        lambda: cohort_moves_ahead(
            estimate.cohorts, calendar_month, horizon, estimate.leaving_month
        ),
    )
    return crossing[k, t], leavers[k, t]


def cohort_columns(
    grid: PanelGrid, target: str, horizon: int, k: np.ndarray, t: np.ndarray, *, base: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """The cohort features of rows (k, t) at ``horizon`` (:func:`cohort_feature_names`) and the
    label's base they give.

    Children over 3 (:data:`COHORT_FEATURES`): the children estimated to cross into over 3 and
    to leave for school in (t, t + horizon], the over-3s y(t) leaves after those moves
    (y(t) + crossing − leavers), and that count less ``base``. Children under 3
    (:data:`UNDER3_COHORT_FEATURES`): the older under-3s crossing the age-3 line in the span,
    the under-3s who stay (y(t) − that), the fill min(waiting list, places free after the next
    August ÷ 2) where that August lies in the span (the list at t, or before this year's
    application deadline the list at last year's) (else 0; NaN where the table has no waiting
    list or capacity), the staying under-3s plus the fill, and that less ``base``.

    The base: where the next August lies in the span, ``base`` moved towards the structural
    count (the over-3s kept; the staying under-3s plus the fill) by the weight
    :func:`_structural_weight` fitted on the data so far, else ``base``. Point-in-time: the
    cohorts at t are estimated from months ≤ t and every other input is the value at t."""
    columns, candidate, ahead = _structural(grid, target, horizon, k, t)
    weight = grid.derive(
        ("structural_weight", target, horizon), lambda: _structural_weight(grid, target, horizon)
    )
    known = ahead & ~np.isnan(candidate)
    label_base = np.where(known, base + weight[t] * (candidate - base), base)
    return [*columns, candidate - base], label_base


def _structural(
    grid: PanelGrid, target: str, horizon: int, k: np.ndarray, t: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """(the cohort features but the last, the structural count, whether the next August lies
    in the span) of rows (k, t)."""
    crossing, leavers = _cohort_moves(grid, horizon, k, t)
    calendar_month = grid.calendar_months()[t]
    august_ahead = months_until(calendar_month, AUGUST) <= horizon
    y = grid.targets[target][k, t]
    if target != "children_under3":
        kept = y + crossing - leavers
        return [crossing, leavers, kept], kept, august_ahead
    staying = y - crossing
    waiting, at_deadline, free = (point_in_time_column(grid, name, k, t) for name in FILL_INPUTS)
    # before this year's application deadline the list at t is what the last intake left;
    # the list at last year's deadline says more of the applicants next August
    before_deadline = months_until(calendar_month, AUGUST) > AUGUST - DEADLINE_MONTH
    waiting = np.where(before_deadline & ~np.isnan(at_deadline), at_deadline, waiting)
    fill = np.where(august_ahead, np.minimum(waiting, np.maximum(free, 0.0) / 2.0), 0.0)
    after = staying + fill
    return [crossing, staying, fill, after], after, august_ahead


def _structural_weight(grid: PanelGrid, target: str, horizon: int) -> np.ndarray:
    """(n_months,) the weight of the structural count in ``target``'s label base at each
    origin, fitted on every row at ``horizon`` with the next August in its span whose target
    month is known by then (:func:`features.intake.expanding_blend_weight`, pooled over
    kindergartens): how far the cohorts, the waiting list and the free places have explained
    the August in these data so far; 0 below the target's :data:`COHORT_BASE_MIN_WEIGHT` and for
    a target without one."""
    if target not in COHORT_BASE_MIN_WEIGHT:
        return np.zeros(grid.n_months)
    k, t = horizon_rows(grid, target, horizon)
    _, candidate, ahead = _structural(grid, target, horizon, k, t)
    k, t, candidate = k[ahead], t[ahead], candidate[ahead]
    y = grid.targets[target]
    cycle = np.mean(cycle_projections(grid, target, horizon, k, t, fallback=y[k, t]), axis=0)
    weight = expanding_blend_weight(
        cycle,
        candidate,
        y[k, t + horizon],
        t + horizon,
        grid.n_months,
        prior_pairs=COHORT_BASE_PRIOR_PAIRS,
    )
    return np.where(weight >= COHORT_BASE_MIN_WEIGHT[target], weight, 0.0)
