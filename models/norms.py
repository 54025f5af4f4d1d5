"""The staffing rules as data: which norm is in force when, from which legal source, and the pure
arithmetic that turns children and decisions into required FTE.

Children are counted by head (the contract's ``children_under3`` / ``children_over3``); a child
under 3 weighs double in both norms, so both reduce to "over-3 equivalents" ``2·U3 + O3``.

* Staffing norm (barnehageloven § 26, from 2019-08-01): staff FTE ≥ (2·U3 + O3) / 6, fractional.
  No kindergarten-level staffing norm was in force before; :func:`staffing_need_fte` with a month
  before August 2019 returns zero need.
* Pedagogue norm (forskrift om pedagogisk bemanning § 1, from 2018-08-01): ceil((2·U3 + O3) / 14)
  whole positions. Before that the rule was one per 7–9 children under 3 and 14–18 over 3; we use
  the *lenient* end (9 and 18), i.e. ceil((2·U3 + O3) / 18), because that is the least a
  kindergarten was legally required to have — a backtest on old data must not count as a breach
  what the law then allowed.
* § 31 / § 37 decisions carry hours of help a week; without hours in the data we assume the
  settings below (DOMAIN.md), converted to FTE at 37.5 hours a week per FTE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

ArrayLike = npt.ArrayLike
NormName = Literal["staffing", "pedagogue"]


@dataclass(frozen=True)
class NormSettings:
    """Hours per decision and per FTE: assumptions shown to the planner (DOMAIN.md defaults)."""

    hours_per_week_31: float = 5.0  #: hours of help a week per § 31 decision
    hours_per_week_37: float = 3.0  #: hours of adapted staffing a week per § 37 decision
    hours_per_week_per_fte: float = 37.5  #: a full-time position, hours a week

    def as_dict(self) -> dict[str, float]:
        return {
            "hours_per_week_31": self.hours_per_week_31,
            "hours_per_week_37": self.hours_per_week_37,
            "hours_per_week_per_fte": self.hours_per_week_per_fte,
        }


@dataclass(frozen=True)
class Norm:
    """One version of a rule: over-3 equivalents per unit of staff, whether only whole positions
    count, its legal source and the months it is in force (``valid_to`` None = still in force)."""

    name: NormName
    equivalents_per_unit: float
    whole_positions: bool
    source: str
    valid_from: pd.Period
    valid_to: pd.Period | None = None

    def in_force(self, month: pd.Period) -> bool:
        return self.valid_from <= month and (self.valid_to is None or month <= self.valid_to)

    def required(self, u3: ArrayLike, o3: ArrayLike) -> np.ndarray:
        """Exact requirement (FTE or positions, before rounding) for these children by head."""
        return over3_equivalents(u3, o3) / self.equivalents_per_unit


NORMS: tuple[Norm, ...] = (
    Norm(
        "staffing",
        6.0,
        False,
        "Barnehageloven § 26 (bemanningsnorm): one adult per 3 children under 3 and per 6 over 3",
        pd.Period("2019-08", "M"),
    ),
    Norm(
        "pedagogue",
        18.0,
        True,
        "Forskrift om pedagogisk bemanning § 1 (before 2018-08): one per 7–9 under 3 and 14–18 "
        "over 3; lenient bound 9/18 used",
        pd.Period("2006-01", "M"),
        pd.Period("2018-07", "M"),
    ),
    Norm(
        "pedagogue",
        14.0,
        True,
        "Forskrift om pedagogisk bemanning § 1 (skjerpet norm): one per 7 under 3 and 14 over 3",
        pd.Period("2018-08", "M"),
    ),
)


def norm_for(name: NormName, month: pd.Period | str) -> Norm | None:
    """The version of ``name`` in force in ``month`` (None if no such norm was in force)."""
    month = pd.Period(month, "M")
    for norm in NORMS:
        if norm.name == name and norm.in_force(month):
            return norm
    return None


def over3_equivalents(u3: ArrayLike, o3: ArrayLike) -> np.ndarray:
    """2·U3 + O3: a child under 3 counts double in both norms (and uses two places)."""
    return 2.0 * np.asarray(u3, dtype=float) + np.asarray(o3, dtype=float)


def staffing_need_fte(
    u3: ArrayLike, o3: ArrayLike, month: pd.Period | str | None = None
) -> np.ndarray:
    """Staff FTE the staffing norm requires, exact and fractional: (2·U3 + O3) / 6.

    ``month`` None means the norm in force today; a month before the norm existed gives zeros.
    """
    norm = norm_for("staffing", month if month is not None else pd.Period("2099-12", "M"))
    if norm is None:
        return np.zeros_like(over3_equivalents(u3, o3))
    return norm.required(u3, o3)


@dataclass(frozen=True)
class PedagoguePositions:
    """The pedagogue norm's requirement: ``exact`` (fractional) and ``positions`` (whole)."""

    exact: np.ndarray
    positions: np.ndarray


def pedagogue_positions(
    u3: ArrayLike, o3: ArrayLike, month: pd.Period | str | None = None
) -> PedagoguePositions:
    """Pedagogical leaders required: exact (2·U3 + O3)/14 and ceil of it (only whole positions
    count); before August 2018 the lenient old rule (divisor 18)."""
    norm = norm_for("pedagogue", month if month is not None else pd.Period("2099-12", "M"))
    if norm is None:
        zeros = np.zeros_like(over3_equivalents(u3, o3))
        return PedagoguePositions(zeros, zeros)
    exact = norm.required(u3, o3)
    # a tiny tolerance so 28/14 is exactly 2 positions, not 3 from floating error
    return PedagoguePositions(exact, np.ceil(exact - 1e-9))


def special_needs_fte(
    v31: ArrayLike, v37: ArrayLike, settings: NormSettings | None = None
) -> np.ndarray:
    """FTE of help that § 31 and § 37 decisions carry: (h31·V31 + h37·V37) / hours per FTE."""
    s = settings or NormSettings()
    hours = s.hours_per_week_31 * np.asarray(v31, dtype=float) + s.hours_per_week_37 * np.asarray(
        v37, dtype=float
    )
    return hours / s.hours_per_week_per_fte


def counts_as_over3(birth_year: ArrayLike, month: pd.Period | str) -> np.ndarray:
    """The age-3 rule: a child counts as over 3 from August of the calendar year it turns 3.

    >>> counts_as_over3([2021, 2021], "2024-07").tolist(), counts_as_over3([2021], "2024-08")
    ([False, False], array([ True]))
    """
    month = pd.Period(month, "M")
    year_turns_3 = np.asarray(birth_year, dtype=int) + 3
    return (year_turns_3 < month.year) | ((year_turns_3 == month.year) & (month.month >= 8))


def children_per_employee(u3: ArrayLike, o3: ArrayLike, staff_fte: ArrayLike) -> np.ndarray:
    """Udir's "barn per ansatt" (children under 3 counted double): 6.0 means the staffing norm is
    exactly met, above 6 means it is broken."""
    return over3_equivalents(u3, o3) / np.asarray(staff_fte, dtype=float)
