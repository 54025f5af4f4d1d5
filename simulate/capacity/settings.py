"""Settings of the capacity family (simulation settings, not official figures; PROCESS.md beside
this file explains each). The family shares nothing with the cohort family's settings on purpose:
every modelling choice of the engine is measured on two independent processes."""

from __future__ import annotations

from dataclasses import dataclass

#: The district whose real births and population (SSB 10826) drive demand.
CAPACITY_DISTRICT = "Bydel Grünerløkka"
#: Its official district number, used in kindergarten ids ("B02-C001").
CAPACITY_DISTRICT_NUMBER = 2
CAPACITY_AREAS = ("Grünerløkka vest", "Grünerløkka øst", "Rodeløkka", "Sofienberg", "Dælenenga")
#: Age groups of the kindergarten year: 0, 1 under 3 (a child under 3 uses two places);
#: 2, 3, 4 over 3; group 4 leaves for school in August.
N_GROUPS = 5
UNDER3_GROUPS = 2
#: Month of the application deadline for the main intake (Oslo: 1 March) and of the intake.
DEADLINE_MONTH = 3
INTAKE_MONTH = 8
#: Months without rolling intake (summer).
NO_INTAKE_MONTHS = (6, 7)


@dataclass(frozen=True)
class CapacitySettings:
    """Parameters of the capacity process."""

    n_kindergartens: int = 48
    burn_in_months: int = 24
    missing_row_share: float = 0.005
    opening_count: int = 2  # kindergartens that open empty in an August of the shown period
    # demand: main-intake applicants per under-3 place of the under-3 departments, × popularity
    applicants_per_u3_place: float = 0.62
    applicants_per_o3_place: float = 0.05
    popularity_sd: float = 0.35
    housing_shock_rate: float = 0.004  # per kindergarten per month: demand up permanently
    housing_shock_size: tuple[float, float] = (0.15, 0.45)
    # rolling intake through the year (children turning one, families moving in)
    rolling_applicants_per_place: float = 0.010  # per month per place
    rolling_fill_probability: float = 0.55  # a free place is offered this month
    waiting_withdrawal: float = 0.12  # applicants who give up per month
    # moves: leaving per child per month (summer peak before the new kindergarten year)
    leave_rate: float = 0.004
    leave_rate_summer: float = 0.035
    over3_leave_factor: float = 0.8
    # shocks: part of the places closed for repairs for a few months (children move elsewhere)
    closure_rate: float = 0.0025
    closure_share: tuple[float, float] = (0.2, 0.45)
    closure_months: tuple[int, int] = (3, 9)
    # decisions (§ 31 special pedagogical help, § 37 adaptation)
    vedtak31_rate: float = 0.0022  # new decisions per over-3-equivalent child per month
    vedtak31_growth: float = 0.05
    vedtak31_mean_months: float = 26.0
    vedtak37_rate: float = 0.0005
    vedtak37_mean_months: float = 36.0
    # staffing: set each August for the planned year, corrected in January, vacancies in between
    staffing_margin_mean: float = 0.06
    staffing_margin_sd: float = 0.05
    vacancy_fill_probability: float = 0.45
    leaver_hazard: float = 0.011
    leaver_hazard_summer: float = 0.04
    fte_per_person: float = 0.88
    # sick leave: kindergarten level, winter season, district epidemic, AR(1) noise
    sick_leave_mean: float = 0.085
    sick_leave_kindergarten_sd: float = 0.02
    sick_leave_winter: float = 0.022
    sick_leave_summer: float = -0.025
    sick_leave_ar: float = 0.55
    sick_leave_innovation_sd: float = 0.014
    epidemic_sd: float = 0.012
    sick_leave_understaffing_effect: float = 0.3
