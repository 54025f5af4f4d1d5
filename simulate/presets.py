"""Presets of the simulated district and the settings of the generating process.

Every number here is a *simulation setting*, chosen to give realistic magnitudes (DOMAIN.md), not
an official figure, except where a comment cites a real source. PROCESS.md explains each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

PresetName = Literal["district", "city", "nation"]

#: Oslo's 15 districts with their official district numbers (bydelsnummer 01–15), used in ids.
OSLO_DISTRICT_NUMBERS: dict[str, int] = {
    "Bydel Gamle Oslo": 1,
    "Bydel Grünerløkka": 2,
    "Bydel Sagene": 3,
    "Bydel St. Hanshaugen": 4,
    "Bydel Frogner": 5,
    "Bydel Ullern": 6,
    "Bydel Vestre Aker": 7,
    "Bydel Nordre Aker": 8,
    "Bydel Bjerke": 9,
    "Bydel Grorud": 10,
    "Bydel Stovner": 11,
    "Bydel Alna": 12,
    "Bydel Østensjø": 13,
    "Bydel Nordstrand": 14,
    "Bydel Søndre Nordstrand": 15,
}

#: Living-conditions disadvantage index per district, 0 (best) … 1 (poorest). A simulation
#: setting that follows the well-known east/inner-city vs. west pattern of Oslo's living-conditions
#: reports (Bydelsfakta); it is not an official score.
DISTRICT_DISADVANTAGE: dict[str, float] = {
    "Bydel Gamle Oslo": 0.85,
    "Bydel Grünerløkka": 0.55,
    "Bydel Sagene": 0.50,
    "Bydel St. Hanshaugen": 0.40,
    "Bydel Frogner": 0.15,
    "Bydel Ullern": 0.08,
    "Bydel Vestre Aker": 0.05,
    "Bydel Nordre Aker": 0.10,
    "Bydel Bjerke": 0.65,
    "Bydel Grorud": 0.75,
    "Bydel Stovner": 0.80,
    "Bydel Alna": 0.80,
    "Bydel Østensjø": 0.35,
    "Bydel Nordstrand": 0.15,
    "Bydel Søndre Nordstrand": 0.80,
}

#: The district preset's areas (real place names in Bydel Gamle Oslo; the split of the district's
#: children between them, their trends and their disadvantage indices are simulated).
#: name → (share of the district's children in the first simulated year, disadvantage 0…1,
#: yearly relative growth of that share).
GAMLE_OSLO_AREAS: dict[str, tuple[float, float, float]] = {
    "Grønland": (0.17, 0.95, -0.020),
    "Tøyen": (0.18, 0.90, -0.010),
    "Gamlebyen": (0.15, 0.70, 0.000),
    "Kampen": (0.14, 0.45, -0.015),
    "Vålerenga": (0.14, 0.40, 0.000),
    "Ensjø": (0.22, 0.30, 0.035),
}

#: Headcount of children per municipal kindergarten, quantiles (probability, children), from the
#: 54 municipal kindergartens of Grünerløkka, Sagene and St. Hanshaugen in
#: data/real/oslo_kindergartens_3_districts_2024.csv (Udir Barnehagefakta, Dec 2024).
MUNICIPAL_HEADCOUNT_QUANTILES: tuple[tuple[float, float], ...] = (
    (0.00, 24.0),
    (0.05, 29.7),
    (0.10, 36.0),
    (0.25, 45.0),
    (0.50, 61.0),
    (0.75, 73.8),
    (0.90, 129.7),
    (0.95, 169.0),
    (1.00, 206.0),
)

#: Capacity bounds in places (over-3 equivalents), DOMAIN.md's "30–130 places".
CAPACITY_MIN_PLACES = 30
CAPACITY_MAX_PLACES = 130


@dataclass(frozen=True)
class Preset:
    """What a preset simulates: its name, how many kindergartens, which districts."""

    name: PresetName
    n_kindergartens: int
    #: Oslo districts whose real population drives the simulation.
    oslo_districts: tuple[str, ...]
    #: Areas (delbydeler) per Oslo district; the district preset uses GAMLE_OSLO_AREAS instead.
    areas_per_district: int
    #: Simulated municipalities added beyond Oslo (nation preset only).
    n_municipalities: int = 0


PRESETS: dict[str, Preset] = {
    "district": Preset("district", 45, ("Bydel Gamle Oslo",), len(GAMLE_OSLO_AREAS)),
    "city": Preset("city", 700, tuple(OSLO_DISTRICT_NUMBERS), 5),
    "nation": Preset("nation", 5500, tuple(OSLO_DISTRICT_NUMBERS), 5, n_municipalities=350),
}


def sample_headcount(rng: np.random.Generator, n: int) -> np.ndarray:
    """Children per kindergarten, drawn from the real municipal headcount distribution by
    inverse-transform sampling on the piecewise-linear quantile function."""
    probs, values = zip(*MUNICIPAL_HEADCOUNT_QUANTILES, strict=True)
    return np.interp(rng.random(n), probs, values)


@dataclass(frozen=True)
class ProcessSettings:
    """Parameters of the generating process (PROCESS.md explains each)."""

    # children
    under3_place_share: float = (
        0.52  # share of places used by under-3s (≈ 35 % of children, a setting)
    )
    occupancy_cap: float = 1.15  # enrolment never above capacity × this (places)
    target_occupancy_max: float = 1.04
    move_out_rate: float = 0.008  # per child per month, good-conditions area
    move_out_rate_disadvantage: float = 0.012  # extra per unit of disadvantage
    over3_move_factor: float = 1.3  # families with older children move away more
    refugee_event_rate: float = 0.015  # events per area per month at disadvantage 0.5
    refugee_children_per_event: float = 6.0
    # decisions
    vedtak31_prevalence_2024: float = 0.038  # Oslo, 2024 (DOMAIN.md)
    vedtak31_growth: float = 0.06  # relative growth per year
    vedtak31_low_income_effect: float = 3.0  # log-rate per unit of low-income share
    vedtak31_duration_months: float = 18.0
    vedtak37_prevalence_2024: float = 0.011
    vedtak37_growth: float = 0.03
    vedtak37_low_income_effect: float = 1.0
    vedtak37_duration_months: float = 30.0
    # work environment
    sick_leave_mean: float = 0.10  # kindergartens ≈ 10 % of hours (10.3 % in Q1 2025)
    sick_leave_kindergarten_sd: float = 0.018
    sick_leave_ar: float = 0.7
    sick_leave_innovation_sd: float = 0.012
    sick_leave_workload_effect: float = 0.25  # per unit of overload (children per FTE / 6 − 1)
    sick_leave_disadvantage_effect: float = 0.03  # ±1.5 points from the best to the poorest area
    turnover_monthly_hazard: float = 0.012  # leavers per staff member per month, average month
    turnover_sick_effect: float = 8.0  # log-hazard per unit of sick-leave rate above mean
    turnover_disadvantage_effect: float = 0.6
    fte_per_person: float = 0.85
    # staffing
    # Oslo's kindergartens staff *to* the norm on paper (Udir, December 2024: all 94 in
    # data/real meet it; median 6.0 children per employee): contracts follow the children
    # admitted (known from the spring admission) with a small margin; what falls short are
    # vacancies after leavers, refilled more slowly in poorer areas, and sick leave
    staffing_lag_months: int = 2
    staffing_adjust_speed: float = 0.8  # share of a vacancy or new need filled in a month …
    staffing_adjust_disadvantage: float = 0.4  # … times (1 − this × disadvantage)
    staffing_margin_mean: float = 0.03  # staffed a little above the norm on paper
    staffing_margin_sd: float = 0.015
    staffing_margin_min: float = 0.0  # no kindergarten plans below the norm
    staffing_noise_sd: float = 0.05  # FTE a month: contracts are set in tenths of a position
    vacancy_cover: float = 0.7  # share of a leaver's position a substitute takes at once …
    vacancy_cover_disadvantage: float = 0.5  # … times (1 − this × disadvantage)
    pedagogue_shortage_entry: float = 0.005  # per month at disadvantage 0 …
    pedagogue_shortage_entry_disadvantage: float = 0.12  # … plus this × disadvantage²
    pedagogue_shortage_exit: float = 0.15
    hours_per_vedtak31: float = 5.0  # hours a week (DOMAIN.md default)
    hours_per_vedtak37: float = 3.0
    hours_per_fte: float = 37.5
    resource_key_coverage: float = 0.8  # share of decision hours the fixed key funds
    # data gaps
    missing_row_share: float = 0.005
    burn_in_months: int = 24
