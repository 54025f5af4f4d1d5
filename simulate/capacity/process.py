"""One month of the capacity family, vectorised over kindergartens (PROCESS.md beside this file).

The whole state lives in ``CapacityState`` (arrays of length n, plus the age groups n × 5) and the
fixed parameters in ``CapacityFixed``; ``step`` changes the state in place and returns the month's
recorded values. A continuation from any month is a copy of the state run on with another
Generator, and ``tile`` repeats every kindergarten ``paths`` times (copy-major) so many futures are
drawn at once; district-wide draws (the winter epidemic) are drawn per copy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from simulate.capacity.settings import (
    DEADLINE_MONTH,
    INTAKE_MONTH,
    N_GROUPS,
    NO_INTAKE_MONTHS,
    UNDER3_GROUPS,
    CapacitySettings,
)

#: Monthly values ``step`` records: the contract's columns first, then ground truth.
CONTRACT_VALUES = (
    "children_under3",
    "children_over3",
    "waiting_list",
    "vedtak_31",
    "vedtak_37",
    "minority_language_share",
    "low_income_share",
    "staff_fte",
    "pedagogue_fte",
    "resource_pedagogue_fte",
    "sick_leave_rate",
    "staff_leavers",
)
TRUTH_VALUES = (
    "places_in_use",
    "effective_capacity",
    "free_places_after_shift",
    "intake_under3",
    "intake_over3",
    "rolling_intake",
    "school_leavers",
    "crossed_into_over3",
    "movers",
    "demand",
    "expected_sick_leave_rate",
)


@dataclass
class CapacityFixed:
    """What the process fixes per kindergarten (length n), and each column's copy (path)."""

    capacity: np.ndarray
    under3_share: np.ndarray  # share of places in under-3 departments
    popularity: np.ndarray
    sick_level: np.ndarray
    staffing_margin: np.ndarray
    propensity31: np.ndarray
    propensity37: np.ndarray
    open_index: np.ndarray
    copy: np.ndarray


@dataclass
class CapacityState:
    groups: np.ndarray  # (n, 5) children per age group of the kindergarten year
    wait_under3: np.ndarray
    wait_over3: np.ndarray
    demand: np.ndarray
    closed_places: np.ndarray
    closure_left: np.ndarray
    vedtak31: np.ndarray
    vedtak37: np.ndarray
    staff_target: np.ndarray
    vacancy: np.ndarray
    pedagogue_target: np.ndarray
    resource: np.ndarray
    sick_ar: np.ndarray
    minority_logit: np.ndarray
    low_income_logit: np.ndarray


def tile(
    fixed: CapacityFixed, state: CapacityState, paths: int
) -> tuple[CapacityFixed, CapacityState]:
    """``paths`` copies of every kindergarten, copy-major (kindergarten k of copy p is column
    p·n + k), each copy its own path for district-wide draws."""
    n = len(fixed.capacity)

    def rows(a: np.ndarray) -> np.ndarray:
        return np.tile(a, (paths,) + (1,) * (a.ndim - 1))

    tiled_fixed = replace(
        fixed,
        **{f.name: rows(getattr(fixed, f.name)) for f in fields(fixed) if f.name != "copy"},
        copy=np.repeat(np.arange(paths), n),
    )
    tiled_state = replace(state, **{f.name: rows(getattr(state, f.name)) for f in fields(state)})
    return tiled_fixed, tiled_state


def places_used(groups: np.ndarray) -> np.ndarray:
    """Places in use: two per child under 3, one per child over 3."""
    return 2 * groups[:, :UNDER3_GROUPS].sum(axis=1) + groups[:, UNDER3_GROUPS:].sum(axis=1)


def staffing_need_fte(under3: np.ndarray, over3: np.ndarray) -> np.ndarray:
    """FTE the staffing norm asks for (one adult per 3 under-3s / 6 over-3s, adults present
    93 % of opening hours)."""
    return (under3 / 3.0 + over3 / 6.0) / 0.93


def pedagogue_need(under3: np.ndarray, over3: np.ndarray) -> np.ndarray:
    """Pedagogue positions of the pedagogue norm (one per 7 under-3s / 14 over-3s), whole."""
    return np.ceil(under3 / 7.0 + over3 / 14.0 - 1e-9)


def initial_state(
    rng: np.random.Generator, fixed: CapacityFixed, s: CapacitySettings
) -> CapacityState:
    """A kindergarten in a January, about 95 % full in the mix of its departments."""
    n = len(fixed.capacity)
    u3_children = fixed.under3_share * fixed.capacity / 2
    o3_children = (1 - fixed.under3_share) * fixed.capacity
    means = np.column_stack(
        [0.4 * u3_children, 0.55 * u3_children, *(o3_children / 3 for _ in range(3))]
    )
    groups = rng.poisson(0.93 * means)
    groups[fixed.open_index >= 0] = 0
    under3 = groups[:, :UNDER3_GROUPS].sum(axis=1)
    over3 = groups[:, UNDER3_GROUPS:].sum(axis=1)
    target = staffing_need_fte(under3, over3) * (1 + fixed.staffing_margin)
    vedtak31 = rng.binomial(under3 + over3, 0.04)
    return CapacityState(
        groups=groups,
        wait_under3=np.zeros(n, dtype=np.int64),
        wait_over3=np.zeros(n, dtype=np.int64),
        demand=np.ones(n),
        closed_places=np.zeros(n, dtype=np.int64),
        closure_left=np.zeros(n, dtype=np.int64),
        vedtak31=vedtak31,
        vedtak37=rng.binomial(under3 + over3, 0.01),
        staff_target=target,
        vacancy=np.zeros(n),
        pedagogue_target=pedagogue_need(under3, over3) + 0.0,
        resource=np.round(0.8 * 5 * vedtak31 / 37.5, 1),
        sick_ar=rng.normal(0, s.sick_leave_innovation_sd, n),
        minority_logit=rng.normal(-0.6, 0.7, n),
        low_income_logit=rng.normal(-1.9, 0.6, n),
    )


def _remove_places(groups: np.ndarray, excess: np.ndarray) -> np.ndarray:
    """Take children out until ``excess`` places are freed, oldest over-3s first; returns how
    many children left."""
    left = np.zeros(len(excess), dtype=np.int64)
    remaining = excess.astype(np.int64).copy()
    for j in range(N_GROUPS - 1, -1, -1):
        per_child = 2 if j < UNDER3_GROUPS else 1
        take = np.minimum(groups[:, j], -(-np.maximum(remaining, 0) // per_child))
        groups[:, j] -= take
        remaining -= per_child * take
        left += take
    return left


def step(
    rng: np.random.Generator,
    fixed: CapacityFixed,
    st: CapacityState,
    t: int,
    month: int,
    years_since_start: float,
    births_index: float,
    s: CapacitySettings,
) -> dict[str, np.ndarray]:
    """Month ``t`` (month of year ``month``): shocks, the August shift and intake or the rolling
    intake, moves, decisions, staffing and sick leave; returns the recorded values."""
    n = len(fixed.capacity)
    active = fixed.open_index <= t
    cap = fixed.capacity
    zeros = np.zeros(n, dtype=np.int64)

    # shocks: new housing in the catchment (demand up for good); places closed for repairs
    housing = rng.random(n) < s.housing_shock_rate
    st.demand = st.demand * np.where(housing, 1 + rng.uniform(*s.housing_shock_size, n), 1.0)
    starts = active & (st.closure_left == 0) & (rng.random(n) < s.closure_rate)
    share = rng.uniform(*s.closure_share, n)
    length = rng.integers(s.closure_months[0], s.closure_months[1] + 1, n)
    st.closed_places = np.where(starts, np.rint(share * cap).astype(np.int64), st.closed_places)
    st.closure_left = np.where(starts, length, np.maximum(st.closure_left - 1, 0))
    st.closed_places = np.where(st.closure_left > 0, st.closed_places, 0)
    effective = cap - st.closed_places

    # waiting lists: withdrawals, the main application round at the deadline, rolling applicants
    st.wait_under3 -= rng.binomial(st.wait_under3, s.waiting_withdrawal)
    st.wait_over3 -= rng.binomial(st.wait_over3, s.waiting_withdrawal)
    pull = fixed.popularity * st.demand * births_index
    if month == DEADLINE_MONTH:
        u3_places = fixed.under3_share * cap / 2
        st.wait_under3 += rng.poisson(s.applicants_per_u3_place * u3_places * pull)
        st.wait_over3 += rng.poisson(
            s.applicants_per_o3_place * (1 - fixed.under3_share) * cap * pull
        )
    rolling_new = rng.poisson(s.rolling_applicants_per_place * cap * pull)
    rolling_u3 = rng.binomial(rolling_new, 0.8)
    st.wait_under3 += rolling_u3
    st.wait_over3 += rolling_new - rolling_u3

    g = st.groups
    school_leavers, crossed, free_after = zeros.copy(), zeros.copy(), zeros.copy()
    intake_u3, intake_o3, rolling = zeros.copy(), zeros.copy(), zeros.copy()
    children_before = g.sum(axis=1)
    if month == INTAKE_MONTH:
        school_leavers = np.where(active, g[:, N_GROUPS - 1], 0)
        crossed = np.where(active, g[:, UNDER3_GROUPS - 1], 0)
        g[:, 1:] = g[:, :-1].copy()
        g[:, 0] = 0
        free = np.where(active, effective - places_used(g), 0)
        free_after = free
        u3_room = np.maximum(
            fixed.under3_share * effective - 2 * g[:, :UNDER3_GROUPS].sum(axis=1), 0
        )
        first = np.minimum(st.wait_under3, (u3_room // 2).astype(np.int64))
        first = np.minimum(first, np.maximum(free, 0) // 2)
        rest = np.maximum(free - 2 * first, 0)
        intake_o3 = np.minimum(st.wait_over3, rest)
        rest = rest - intake_o3
        extra = np.minimum(st.wait_under3 - first, rest // 2)
        intake_u3 = np.where(active, first + extra, 0)
        intake_o3 = np.where(active, intake_o3, 0)
        youngest = rng.binomial(intake_u3, 0.8)
        g[:, 0] += youngest
        g[:, 1] += intake_u3 - youngest
        three = rng.binomial(intake_o3, 0.7)
        g[:, 2] += three
        g[:, 3] += intake_o3 - three
        st.wait_under3 -= intake_u3
        st.wait_over3 -= intake_o3
    elif month not in NO_INTAKE_MONTHS:
        free = np.where(active, np.maximum(effective - places_used(g), 0), 0)
        offers_u3 = rng.binomial(np.minimum(st.wait_under3, free // 2), s.rolling_fill_probability)
        free = free - 2 * offers_u3
        offers_o3 = rng.binomial(np.minimum(st.wait_over3, free), s.rolling_fill_probability)
        g[:, 0] += offers_u3
        g[:, 2] += offers_o3
        st.wait_under3 -= offers_u3
        st.wait_over3 -= offers_o3
        rolling = offers_u3 + offers_o3

    # moves out of the kindergarten (a summer peak before the new year), and children moved
    # elsewhere when places close
    rate = s.leave_rate_summer if month in NO_INTAKE_MONTHS else s.leave_rate
    factors = np.array([1.0, 1.0, s.over3_leave_factor, s.over3_leave_factor, s.over3_leave_factor])
    leaving = rng.binomial(g, rate * factors)
    g -= leaving
    excess = np.maximum(places_used(g) - effective, 0)
    movers = leaving.sum(axis=1) + _remove_places(g, np.where(active, excess, 0))
    g[~active] = 0
    under3 = g[:, :UNDER3_GROUPS].sum(axis=1)
    over3 = g[:, UNDER3_GROUPS:].sum(axis=1)
    children = under3 + over3

    # decisions: § 31 new mostly in the autumn after the staff have come to know the children
    season = {9: 1.6, 10: 1.6, 11: 1.4, 6: 0.3, 7: 0.2}.get(month, 1.0)
    trend = (1 + s.vedtak31_growth) ** years_since_start
    exposure = over3 + 0.3 * under3
    new31 = rng.poisson(s.vedtak31_rate * fixed.propensity31 * trend * season * exposure)
    end31 = rng.binomial(st.vedtak31, 1 / s.vedtak31_mean_months)
    school_share = np.where(children_before > 0, school_leavers / np.maximum(children_before, 1), 0)
    school31 = rng.binomial(st.vedtak31 - end31, np.clip(1.4 * school_share, 0, 1))
    st.vedtak31 = np.clip(st.vedtak31 + new31 - end31 - school31, 0, children)
    new37 = rng.poisson(s.vedtak37_rate * fixed.propensity37 * children)
    end37 = rng.binomial(st.vedtak37, 1 / s.vedtak37_mean_months)
    st.vedtak37 = np.clip(st.vedtak37 + new37 - end37, 0, children)

    # shares of the enrolled children
    st.minority_logit += rng.normal(0, 0.03, n)
    st.low_income_logit += rng.normal(0, 0.03, n)
    minority = rng.binomial(children, 1 / (1 + np.exp(-st.minority_logit))) / np.maximum(
        children, 1
    )
    low_income = rng.binomial(children, 1 / (1 + np.exp(-st.low_income_logit))) / np.maximum(
        children, 1
    )

    # staffing: planned each August for the year's children, corrected in January
    need = staffing_need_fte(under3, over3)
    if month in (INTAKE_MONTH, 1):
        planned = need * (1 + fixed.staffing_margin)
        weight = 1.0 if month == INTAKE_MONTH else 0.5
        st.staff_target = st.staff_target + weight * (planned - st.staff_target)
        st.pedagogue_target = pedagogue_need(under3, over3) + 0.0
    heads = np.maximum(st.staff_target - st.vacancy, 0) / s.fte_per_person
    hazard = s.leaver_hazard_summer if month in NO_INTAKE_MONTHS else s.leaver_hazard
    sick_excess = np.maximum(st.sick_ar, 0)
    leavers = rng.poisson(heads * hazard * np.exp(6 * sick_excess))
    filled = rng.binomial(
        np.rint(st.vacancy / s.fte_per_person).astype(np.int64), s.vacancy_fill_probability
    )
    st.vacancy = np.clip(st.vacancy + (leavers - filled) * s.fte_per_person, 0, st.staff_target)
    staff = np.where(active, np.maximum(st.staff_target - st.vacancy, 0), 0)
    present_share = np.where(st.staff_target > 0, staff / np.maximum(st.staff_target, 1e-9), 1)
    pedagogue = np.round(st.pedagogue_target * np.minimum(present_share + 0.05, 1.0), 1)
    if month in (1, 4, INTAKE_MONTH, 10):
        st.resource = np.round(0.8 * (5 * st.vedtak31 + 3 * st.vedtak37) / 37.5, 1)

    # sick leave: level, season, a district epidemic per copy in the winter, AR(1), workload
    st.sick_ar = s.sick_leave_ar * st.sick_ar + rng.normal(0, s.sick_leave_innovation_sd, n)
    epidemic_draw = np.abs(rng.normal(0, s.epidemic_sd, int(fixed.copy.max()) + 1))
    epidemic = epidemic_draw[fixed.copy] if month in (12, 1, 2, 3) else 0.0
    seasonal = {1: 1.0, 2: 1.0, 12: 0.6, 3: 0.5}.get(month, 0.0) * s.sick_leave_winter + (
        s.sick_leave_summer if month == 7 else 0.0
    )
    understaffed = np.maximum(need - staff, 0) / np.maximum(need, 1e-9)
    expected = fixed.sick_level + seasonal + s.sick_leave_understaffing_effect * understaffed
    sick = np.clip(expected + epidemic + st.sick_ar, 0.005, 0.4)

    def on(values: np.ndarray) -> np.ndarray:
        return np.where(active, values, 0)

    return {
        "children_under3": on(under3),
        "children_over3": on(over3),
        "waiting_list": on(st.wait_under3 + st.wait_over3),
        "vedtak_31": on(st.vedtak31),
        "vedtak_37": on(st.vedtak37),
        "minority_language_share": on(minority),
        "low_income_share": on(low_income),
        "staff_fte": on(np.round(staff, 1)),
        "pedagogue_fte": on(pedagogue),
        "resource_pedagogue_fte": on(st.resource),
        "sick_leave_rate": on(np.round(sick, 4)),
        "staff_leavers": on(leavers),
        "places_in_use": on(places_used(g)),
        "effective_capacity": on(effective),
        "free_places_after_shift": free_after,
        "intake_under3": intake_u3,
        "intake_over3": intake_o3,
        "rolling_intake": on(rolling),
        "school_leavers": school_leavers,
        "crossed_into_over3": crossed,
        "movers": on(movers),
        "demand": st.demand.copy(),
        "expected_sick_leave_rate": on(expected),
    }
