"""Children: birth cohorts that age across the age-3 line in August, intake, school leavers, moves
and refugee arrivals. Vectorised over kindergartens; called once per month.

``cohorts`` is an int array of shape (n_kindergartens, 5). In the kindergarten year that starts in
August Y, column 0 holds children born Y−1 and column 1 those born Y−2 (both under 3), columns 2–4
those born Y−3 … Y−5 (over 3). Column 1 crosses into over 3 at the next August; column 4 leaves for
school in June/July.
"""

from __future__ import annotations

import numpy as np

UNDER3 = slice(0, 2)
OVER3 = slice(2, 5)

#: Share of the gap to the target filled by under-3 intake, by calendar month (Jan … Dec): the main
#: intake is August, children born September–November get their right to a place the month they
#: turn one, and a trickle of places is offered the rest of the year.
UNDER3_FILL = np.array([0.15, 0.15, 0.15, 0.15, 0.12, 0.05, 0.0, 0.55, 0.40, 0.35, 0.35, 0.20])
#: The same for over-3s (children moving in, changing kindergarten).
OVER3_FILL = np.array([0.20, 0.20, 0.20, 0.20, 0.15, 0.05, 0.0, 0.70, 0.30, 0.25, 0.20, 0.20])
#: Share of newly admitted under-3s who are in the older under-3 cohort (born Y−2), by month.
OLDER_UNDER3_SHARE = np.array([0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.15, 0.1, 0.1, 0.1, 0.15])
#: Families move more in summer (relative monthly move-out rate, Jan … Dec, mean 1).
MOVE_SEASON = np.array([0.8, 0.8, 0.85, 0.85, 0.9, 1.4, 1.6, 1.5, 0.9, 0.8, 0.8, 0.8])
MOVE_SEASON = MOVE_SEASON / MOVE_SEASON.mean()
#: Waiting list by month: builds after the 1 March application deadline, emptied by August intake.
WAITING_SEASON = np.array([0.8, 0.9, 1.3, 1.4, 1.4, 1.3, 1.2, 0.4, 0.5, 0.6, 0.7, 0.75])
#: Over-3 intake is spread over the three over-3 cohorts with these weights (younger join more).
OVER3_INTAKE_WEIGHTS = np.array([0.45, 0.35, 0.20])


def places(cohorts: np.ndarray) -> np.ndarray:
    """Places used, in over-3 equivalents: two per child under 3."""
    return 2 * cohorts[:, UNDER3].sum(axis=1) + cohorts[:, OVER3].sum(axis=1)


def august_shift(cohorts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Age every cohort by one kindergarten year, in place. Returns (children crossing from under 3
    to over 3, children of the oldest cohort still enrolled who now leave for school)."""
    crossing = cohorts[:, 1].copy()
    late_leavers = cohorts[:, 4].copy()
    cohorts[:, 1:] = cohorts[:, :-1]
    cohorts[:, 0] = 0
    return crossing, late_leavers


def school_leavers(rng: np.random.Generator, cohorts: np.ndarray, month: int) -> np.ndarray:
    """The oldest cohort leaves in June (a quarter) and July (the rest), in place."""
    if month == 6:
        leaving = rng.binomial(cohorts[:, 4], 0.25)
    elif month == 7:
        leaving = cohorts[:, 4].copy()
    else:
        return np.zeros(len(cohorts), dtype=np.int64)
    cohorts[:, 4] -= leaving
    return leaving


def moves_out(
    rng: np.random.Generator, cohorts: np.ndarray, rate: np.ndarray, over3_factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Children whose families move away (or who change kindergarten), in place; ``rate`` is the
    per-child monthly probability for under-3s, multiplied by ``over3_factor`` for over-3s."""
    prob = np.empty(cohorts.shape)
    prob[:, UNDER3] = rate[:, None]
    prob[:, OVER3] = np.minimum(rate * over3_factor, 1.0)[:, None]
    leaving = rng.binomial(cohorts, prob)
    cohorts -= leaving
    return leaving[:, UNDER3].sum(axis=1), leaving[:, OVER3].sum(axis=1)


def refugee_arrivals(
    rng: np.random.Generator,
    cohorts: np.ndarray,
    event_in_area: np.ndarray,
    area_index: np.ndarray,
    weight: np.ndarray,
    mean_children: float,
    room_places: np.ndarray,
) -> np.ndarray:
    """Children of refugee families settled at short notice, in place.

    Where an area has an event this month, each of its open kindergartens receives
    Poisson(mean_children · weight / area weight) children (so the event's total is Poisson with
    that mean), a third under 3; no kindergarten goes beyond ``room_places``.
    """
    area_weight = np.bincount(area_index, weights=weight, minlength=len(event_in_area))
    share = np.divide(
        weight,
        area_weight[area_index],
        out=np.zeros_like(weight),
        where=area_weight[area_index] > 0,
    )
    lam = event_in_area[area_index] * mean_children * share
    arrivals = rng.poisson(lam)
    under3 = rng.binomial(arrivals, 1 / 3)
    over3 = arrivals - under3
    room = np.maximum(room_places, 0).astype(np.int64)
    over3 = np.minimum(over3, room)
    under3 = np.minimum(under3, (room - over3) // 2)
    to_older = rng.binomial(under3, 0.5)
    cohorts[:, 0] += under3 - to_older
    cohorts[:, 1] += to_older
    cohorts[:, OVER3] += rng.multinomial(over3, [1 / 3, 1 / 3, 1 / 3])
    return under3 + over3


def intake(
    rng: np.random.Generator,
    cohorts: np.ndarray,
    target_under3: np.ndarray,
    target_over3: np.ndarray,
    month: int,
    admitting: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Offer places towards the kindergarten's target mix, in place: each month fills a seasonal
    share of the gap (main intake in August), never beyond the target in places
    (2·U3* + O3*) as a whole. Returns (joined under 3, joined over 3)."""
    gap_u3 = np.maximum(np.rint(target_under3) - cohorts[:, UNDER3].sum(axis=1), 0).astype(np.int64)
    gap_o3 = np.maximum(np.rint(target_over3) - cohorts[:, OVER3].sum(axis=1), 0).astype(np.int64)
    room = np.floor(2 * target_under3 + target_over3) - places(cohorts)
    room = np.maximum(room, 0).astype(np.int64)
    joined_o3 = np.minimum(rng.binomial(gap_o3 * admitting, OVER3_FILL[month - 1]), room)
    joined_u3 = np.minimum(
        rng.binomial(gap_u3 * admitting, UNDER3_FILL[month - 1]), (room - joined_o3) // 2
    )
    older = rng.binomial(joined_u3, OLDER_UNDER3_SHARE[month - 1])
    cohorts[:, 0] += joined_u3 - older
    cohorts[:, 1] += older
    cohorts[:, OVER3] += rng.multinomial(joined_o3, OVER3_INTAKE_WEIGHTS)
    return joined_u3, joined_o3


def waiting_list(
    rng: np.random.Generator,
    capacity: np.ndarray,
    pressure: np.ndarray,
    popularity: np.ndarray,
    month: int,
) -> np.ndarray:
    """First-choice applicants not yet offered a place: grows with the area's demand pressure
    (children per place relative to normal) and the kindergarten's popularity, seasonal."""
    excess = np.clip((pressure - 0.9) / 0.1, 0.0, 3.0)
    lam = capacity * 0.06 * popularity * (0.1 + excess) * WAITING_SEASON[month - 1]
    return rng.poisson(lam)
