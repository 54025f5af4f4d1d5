"""Staff: sick leave, turnover, contracted staff following need with a lag, pedagogues under the
pedagogue norm (with shortage in poorer areas) and resource pedagogues by today's fixed key."""

from __future__ import annotations

import numpy as np

#: Sick leave relative to the yearly mean by month (Jan … Dec, mean 1): winter infections high,
#: July (common holiday month) low.
SICK_SEASON = np.array([1.22, 1.22, 1.10, 1.00, 0.95, 0.88, 0.62, 0.85, 1.00, 1.05, 1.08, 1.03])
#: Leavers relative to an average month (Jan … Dec, mean 1): most quit at the end of the
#: kindergarten year, June–August.
TURNOVER_SEASON = np.array([0.711] * 5 + [2.0, 1.6, 2.0] + [0.711] * 4)
TURNOVER_SEASON = TURNOVER_SEASON / TURNOVER_SEASON.mean()
#: Children per staff FTE under the staffing norm, with under-3s counted double.
STAFF_NORM_DIVISOR = 6.0


def staffing_need_fte(under3: np.ndarray, over3: np.ndarray) -> np.ndarray:
    """Staff FTE the staffing norm requires: (2·U3 + O3) / 6 (barnehageloven § 26, Udir)."""
    return (2.0 * under3 + over3) / STAFF_NORM_DIVISOR


def pedagogue_norm_positions(
    under3: np.ndarray, over3: np.ndarray, after_2018_08: bool
) -> np.ndarray:
    """Whole pedagogical-leader positions required: ceil((2·U3 + O3) / 14) from August 2018;
    before, the laxer rule of one per 9 under 3 / 18 over 3, i.e. ceil((2·U3 + O3) / 18)."""
    return pedagogue_positions_for_places(2.0 * under3 + over3, after_2018_08)


def pedagogue_positions_for_places(places: np.ndarray, after_2018_08: bool) -> np.ndarray:
    """The pedagogue norm in places (over-3 equivalents, 2·U3 + O3): ceil(places / 14), or
    ceil(places / 18) before August 2018. The tiny tolerance keeps 28.0000001 from becoming 3."""
    divisor = 14.0 if after_2018_08 else 18.0
    return np.ceil(places / divisor - 1e-9)


def expected_sick_leave(
    mean: float,
    month: int,
    kindergarten_effect: np.ndarray,
    overload: np.ndarray,
    workload_effect: float,
    disadvantage: np.ndarray,
    disadvantage_effect: float,
) -> np.ndarray:
    """Sick-leave rate before the AR(1) noise: mean · season + kindergarten effect + workload
    effect · overload + disadvantage effect · (disadvantage − 0.5), within [1 %, 50 %]."""
    rate = (
        mean * SICK_SEASON[month - 1]
        + kindergarten_effect
        + workload_effect * overload
        + disadvantage_effect * (disadvantage - 0.5)
    )
    return np.clip(rate, 0.01, 0.5)


def overload(under3: np.ndarray, over3: np.ndarray, staff_fte: np.ndarray) -> np.ndarray:
    """How far children per staff FTE are above the norm: max(0, need / staff − 1), capped at 1."""
    need = staffing_need_fte(under3, over3)
    ratio = np.divide(need, staff_fte, out=np.ones_like(need), where=staff_fte > 0)
    return np.clip(ratio - 1.0, 0.0, 1.0)


def staff_leavers(
    rng: np.random.Generator,
    staff_fte: np.ndarray,
    fte_per_person: float,
    base_hazard: float,
    month: int,
    sick_rate: np.ndarray,
    sick_mean: float,
    sick_effect: float,
    disadvantage: np.ndarray,
    disadvantage_effect: float,
) -> np.ndarray:
    """Leavers in the month: Poisson(headcount · hazard), the hazard seasonal and rising with sick
    leave above the mean and with the area's disadvantage."""
    headcount = staff_fte / fte_per_person
    hazard = (
        base_hazard
        * TURNOVER_SEASON[month - 1]
        * np.exp(sick_effect * (sick_rate - sick_mean) + disadvantage_effect * (disadvantage - 0.5))
    )
    return np.minimum(rng.poisson(headcount * hazard), np.floor(headcount).astype(np.int64))


def adjust_staff(
    rng: np.random.Generator,
    staff_fte: np.ndarray,
    lost_fte: np.ndarray,
    target_fte: np.ndarray,
    speed_up: np.ndarray,
    speed_down: float,
    noise_sd: float = 0.05,
) -> np.ndarray:
    """Contracted FTE after leavers and hiring: HR moves a share of the way to the target,
    faster up than down (contracts are not cut at once), with noise; in steps of 0.1 FTE."""
    after = np.maximum(staff_fte - lost_fte, 0.0)
    gap = target_fte - after
    step = np.where(gap > 0, speed_up * gap, speed_down * gap)
    # contracts come in tenths of a position: rounded up while hiring towards the target (a
    # planner rounds a position up to meet the norm), to the nearest tenth otherwise
    raw = after + step + rng.normal(0.0, noise_sd, len(after))
    tenths = np.where(gap > 0, np.ceil(raw * 10 - 1e-9), np.round(raw * 10))
    return np.maximum(tenths / 10, 0.0)


def step_shortage(
    rng: np.random.Generator, short: np.ndarray, enter: np.ndarray, leave: np.ndarray
) -> np.ndarray:
    """Two-state Markov chain of a vacant pedagogue position (persistent for months)."""
    draw = rng.random(len(short))
    return np.where(short, draw >= leave, draw < enter)


def resource_pedagogue_key(
    vedtak31: np.ndarray,
    vedtak37: np.ndarray,
    hours31: float,
    hours37: float,
    hours_per_fte: float,
    coverage: float,
    noise: np.ndarray,
) -> np.ndarray:
    """Today's fixed key: resource-pedagogue FTE in proportion to the decisions' hours, a share
    ``coverage`` funded, times judgement noise; in steps of 0.1 FTE."""
    hours = vedtak31 * hours31 + vedtak37 * hours37
    return np.round(coverage * hours / hours_per_fte * noise, 1)
