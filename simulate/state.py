"""The simulator's state: fixed per-kindergarten parameters, what carries over between months,
and the calendar of one month."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulate.layout import Layout
from simulate.presets import ProcessSettings


@dataclass
class Fixed:
    """What does not change from month to month: per-kindergarten parameters (arrays of length
    n_kindergartens) and per-area ones."""

    area: np.ndarray
    disadvantage: np.ndarray
    capacity: np.ndarray
    place_share: np.ndarray
    margin: np.ndarray
    pressure_base: np.ndarray
    popularity: np.ndarray
    propensity: np.ndarray
    sick_effect: np.ndarray
    surplus: np.ndarray
    low_income_base: np.ndarray
    minority_base: np.ndarray
    shortage_depth: np.ndarray
    area_names: np.ndarray
    area_district: np.ndarray
    event_rate: np.ndarray


@dataclass
class State:
    """What carries over from one month to the next."""

    cohorts: np.ndarray
    vedtak31: np.ndarray
    vedtak37: np.ndarray
    staff: np.ndarray
    resource: np.ndarray
    sick_noise: np.ndarray
    short: np.ndarray
    low_income_logit: np.ndarray
    minority_logit: np.ndarray


@dataclass
class Month:
    """The calendar and who runs this month."""

    t: int
    period: pd.Period
    active: np.ndarray
    admitting: np.ndarray
    starting: np.ndarray
    pedagogue_rule_2018: bool
    staffing_norm_2019: bool

    @property
    def m(self) -> int:
        return int(self.period.month)


def fixed_parameters(layout: Layout, s: ProcessSettings) -> Fixed:
    kg = layout.kindergartens
    area_pos = {a.name: j for j, a in enumerate(layout.areas)}
    dis = kg["living_conditions_index"].to_numpy()
    area_dis = np.array([a.disadvantage for a in layout.areas])
    return Fixed(
        area=kg["area"].map(area_pos).to_numpy(),
        disadvantage=dis,
        capacity=kg["capacity"].to_numpy().astype(float),
        place_share=kg["under3_place_share"].to_numpy(),
        margin=kg["staffing_margin"].to_numpy(),
        pressure_base=kg["demand_pressure_base"].to_numpy(),
        popularity=kg["popularity"].to_numpy(),
        propensity=kg["decision_propensity"].to_numpy(),
        sick_effect=kg["sick_leave_effect"].to_numpy(),
        surplus=kg["pedagogue_surplus"].to_numpy(),
        low_income_base=logit(kg["low_income_base"].to_numpy()),
        minority_base=logit(kg["minority_language_base"].to_numpy()),
        shortage_depth=np.zeros(len(kg)),  # drawn after the initial state, see run_months
        area_names=np.array([a.name for a in layout.areas]),
        area_district=np.array([a.district for a in layout.areas]),
        event_rate=s.refugee_event_rate * (0.3 + 1.4 * area_dis),
    )


def start_kindergartens(
    rng: np.random.Generator,
    starting: np.ndarray,
    open_index: np.ndarray,
    cohorts: np.ndarray,
    target_u3: np.ndarray,
    target_o3: np.ndarray,
) -> None:
    """Kindergartens running from the first month start full (at their target mix, spread over the
    cohorts); those opening later start empty and fill through intake."""
    full = starting & (open_index < 0)
    if not full.any():
        return
    u3 = rng.poisson(target_u3[full])
    o3 = rng.poisson(target_o3[full])
    older = rng.binomial(u3, 0.5)
    cohorts[full, 0] = u3 - older
    cohorts[full, 1] = older
    cohorts[full, 2:] = rng.multinomial(o3, [1 / 3, 1 / 3, 1 / 3])


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))
