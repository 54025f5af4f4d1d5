"""One month of the generating process, in three steps: children, decisions, workforce. Each step
updates the State in place and returns the month's values (arrays over kindergartens)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulate import children as ch
from simulate import decisions as dc
from simulate import workforce as wf
from simulate.presets import ProcessSettings
from simulate.state import Fixed, Month, State, start_kindergartens


def children_month(
    rng: np.random.Generator,
    fx: Fixed,
    st: State,
    month: Month,
    s: ProcessSettings,
    mix: np.ndarray,
    target_places: np.ndarray,
    open_index: np.ndarray,
    events: list[pd.DataFrame],
) -> dict[str, np.ndarray]:
    """August shift, school leavers, moves, refugee arrivals and intake (children.py), in place."""
    n, m = len(fx.area), month.m
    cohorts = st.cohorts
    target_u3, target_o3 = mix * target_places / 2, (1 - mix) * target_places
    if month.starting.any():
        start_kindergartens(rng, month.starting, open_index, cohorts, target_u3, target_o3)
    before = cohorts.sum(axis=1)
    aged = np.zeros(n, dtype=np.int64)
    leavers = np.zeros(n, dtype=np.int64)
    if m == 8:
        aged, leavers = ch.august_shift(cohorts)
    leavers += ch.school_leavers(rng, cohorts, m)
    move_rate = (s.move_out_rate + s.move_out_rate_disadvantage * fx.disadvantage) * (
        ch.MOVE_SEASON[m - 1]
    )
    left_u3, left_o3 = ch.moves_out(rng, cohorts, move_rate, s.over3_move_factor)
    event = (rng.random(len(fx.area_names)) < fx.event_rate).astype(float)
    room = np.floor(fx.capacity * s.occupancy_cap) - ch.places(cohorts)
    arrivals = ch.refugee_arrivals(
        rng,
        cohorts,
        event,
        fx.area,
        fx.capacity * month.admitting,
        s.refugee_children_per_event,
        room,
    )
    if event.any() and arrivals.any():
        events.append(_event_rows(fx, month.period, arrivals))
    joined_u3, joined_o3 = ch.intake(rng, cohorts, target_u3, target_o3, m, month.admitting)
    cohorts[~month.active] = 0
    return {
        "children_under3": cohorts[:, ch.UNDER3].sum(axis=1),
        "children_over3": cohorts[:, ch.OVER3].sum(axis=1),
        "children_before": before,
        "older_under3_cohort": cohorts[:, 1].copy(),
        "aged_into_over3": aged,
        "joined_under3": joined_u3,
        "joined_over3": joined_o3,
        "left_under3": left_u3,
        "left_over3": left_o3,
        "school_leavers": leavers,
        "refugee_arrivals": arrivals,
    }


def _event_rows(fx: Fixed, period: pd.Period, arrivals: np.ndarray) -> pd.DataFrame:
    """One row per area that received refugee children this month."""
    n_areas = len(fx.area_names)
    placed = np.bincount(fx.area, weights=arrivals, minlength=n_areas)
    receiving = np.bincount(fx.area, weights=arrivals > 0, minlength=n_areas)
    hit = np.flatnonzero(placed > 0)
    return pd.DataFrame(
        {
            "month": period,
            "district": fx.area_district[hit],
            "area": fx.area_names[hit],
            "children": placed[hit].astype(np.int64),
            "kindergartens": receiving[hit].astype(np.int64),
        }
    )


def decisions_month(
    rng: np.random.Generator,
    fx: Fixed,
    st: State,
    month: Month,
    s: ProcessSettings,
    children: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Latent shares drift; § 31 / § 37 stocks step (decisions.py)."""
    n = len(fx.area)
    kids = children["children_under3"] + children["children_over3"]
    before = children["children_before"]
    left = children["left_under3"] + children["left_over3"] + 1.5 * children["school_leavers"]
    leaving_share = np.divide(left, before, out=np.zeros(n), where=before > 0)
    st.low_income_logit = dc.drift_logit(rng, st.low_income_logit, fx.low_income_base, 0.98, 0.03)
    st.minority_logit = dc.drift_logit(rng, st.minority_logit, fx.minority_base, 0.98, 0.03)
    arrivals = children["refugee_arrivals"]
    st.minority_logit += 2.0 * np.divide(arrivals, kids, out=np.zeros(n), where=kids > 0)
    low_income = 1 / (1 + np.exp(-st.low_income_logit))
    years = month.period.year + (month.m - 0.5) / 12 - 2024.5
    p31 = dc.prevalence(
        s.vedtak31_prevalence_2024,
        s.vedtak31_growth,
        years,
        low_income,
        s.vedtak31_low_income_effect,
        fx.propensity,
    )
    p37 = dc.prevalence(
        s.vedtak37_prevalence_2024,
        s.vedtak37_growth,
        years,
        low_income,
        s.vedtak37_low_income_effect,
        fx.propensity,
    )
    starting = month.starting
    if starting.any():
        st.vedtak31[starting] = rng.poisson(p31[starting] * kids[starting])
        st.vedtak37[starting] = rng.poisson(p37[starting] * kids[starting])
    st.vedtak31 = dc.step_decisions(
        rng, st.vedtak31, kids, leaving_share, p31, s.vedtak31_duration_months, month.m
    )
    st.vedtak37 = dc.step_decisions(
        rng, st.vedtak37, kids, leaving_share, p37, s.vedtak37_duration_months, month.m
    )
    return {
        "vedtak_31": st.vedtak31,
        "vedtak_37": st.vedtak37,
        "vedtak31_expected_share": p31,
        "low_income_expected_share": low_income,
    }


def workforce_month(
    rng: np.random.Generator,
    fx: Fixed,
    st: State,
    month: Month,
    s: ProcessSettings,
    values: dict[str, np.ndarray],
    target_places: np.ndarray,
    open_index: np.ndarray,
    rec: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Sick leave, leavers, lagged staffing, pedagogues and the resource key (workforce.py).
    ``rec`` holds earlier months (the lags read it)."""
    n, t, m = len(fx.area), month.t, month.m
    under3, over3 = values["children_under3"], values["children_over3"]
    need = wf.staffing_need_fte(under3, over3)
    rec["staffing_need_fte"][t] = need
    rec["pedagogue_norm_positions"][t] = wf.pedagogue_norm_positions(
        under3, over3, month.pedagogue_rule_2018
    )
    margin = fx.margin - (0.0 if month.staffing_norm_2019 else 0.04)
    starting = month.starting
    if starting.any():
        # a new kindergarten hires for its first year's planned children, not its first month
        planned_need = np.maximum(need, 0.6 * target_places / wf.STAFF_NORM_DIVISOR)
        st.staff[starting] = np.round(planned_need[starting] * (1 + margin[starting]), 1)
    expected_sick = wf.expected_sick_leave(
        s.sick_leave_mean,
        m,
        fx.sick_effect,
        wf.overload(under3, over3, st.staff),
        s.sick_leave_workload_effect,
        fx.disadvantage,
        s.sick_leave_disadvantage_effect,
    )
    st.sick_noise = s.sick_leave_ar * st.sick_noise + rng.normal(0, s.sick_leave_innovation_sd, n)
    sick = np.clip(expected_sick + st.sick_noise, 0.0, 0.6)
    quits = wf.staff_leavers(
        rng,
        st.staff,
        s.fte_per_person,
        s.turnover_monthly_hazard,
        m,
        sick,
        s.sick_leave_mean,
        s.turnover_sick_effect,
        fx.disadvantage,
        s.turnover_disadvantage_effect,
    )
    every = np.arange(n)
    lag = np.maximum(t - s.staffing_lag_months, np.maximum(open_index, 0))
    # contracts follow the children admitted (known ahead from the spring admission) or, when
    # more, those of two months ago (contracts are not cut at once)
    planned_children_need = np.maximum(need, rec["staffing_need_fte"][lag, every])
    st.staff = wf.adjust_staff(
        rng,
        st.staff,
        # a leaver's position is partly taken by a substitute at once (fewer in poorer areas);
        # the rest stays vacant until HR refills it
        quits
        * s.fte_per_person
        * (1 - s.vacancy_cover * (1 - s.vacancy_cover_disadvantage * fx.disadvantage)),
        planned_children_need * (1 + margin),
        s.staffing_adjust_speed * (1 - s.staffing_adjust_disadvantage * fx.disadvantage),
        0.3,
        s.staffing_noise_sd,
    )
    st.short = wf.step_shortage(
        rng,
        st.short,
        s.pedagogue_shortage_entry + s.pedagogue_shortage_entry_disadvantage * fx.disadvantage**2,
        s.pedagogue_shortage_exit * (1 - 0.5 * fx.disadvantage),
    )
    # pedagogue positions are planned for the kindergarten's target of children (places
    # ≈ 2·U3 + O3), or for last months' actual children when more; a vacancy leaves one
    # (in poor areas sometimes two) positions empty for months
    planned = np.maximum(
        wf.pedagogue_positions_for_places(target_places, month.pedagogue_rule_2018),
        rec["pedagogue_norm_positions"][lag, every],
    )
    pedagogues = np.minimum(
        np.maximum(planned + fx.surplus - st.short * fx.shortage_depth, 0.0), st.staff
    )
    if m in (1, 8) or starting.any():
        key_month = max(t - 3, 0)
        fresh = wf.resource_pedagogue_key(
            rec["vedtak_31"][key_month],
            rec["vedtak_37"][key_month],
            s.hours_per_vedtak31,
            s.hours_per_vedtak37,
            s.hours_per_fte,
            s.resource_key_coverage,
            rng.lognormal(0, 0.15, n),
        )
        st.resource = np.where(starting | (m in (1, 8)), fresh, st.resource)
    return {
        "staff_fte": st.staff,
        "pedagogue_fte": pedagogues,
        "resource_pedagogue_fte": st.resource,
        "sick_leave_rate": sick,
        "staff_leavers": quits,
        "expected_sick_leave_rate": expected_sick,
        "staffing_need_fte": need,
        "pedagogue_norm_positions": rec["pedagogue_norm_positions"][t],
        "pedagogue_shortage": st.short,
    }
