"""Calendar of the kindergarten year (barnehageår, August–July), as known-future features.

The kindergarten year starts in August: the main intake happens then and children count as over 3
from August of the calendar year they turn 3 (DOMAIN.md, age rule), so the need for staff shifts
every August. All of these are functions of the month alone and therefore known for any future
month; their column names carry :data:`data.contract.KNOWN_FUTURE_PREFIX`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.contract import KNOWN_FUTURE_PREFIX

#: Calendar month (1–12) in which the kindergarten year starts.
KG_YEAR_START_MONTH = 8
MONTH_DTYPE = pd.PeriodDtype("M")


def month_ordinals(months: pd.Series) -> np.ndarray:
    """``Period[M]`` values → integer month index (months since 1970-01), int64.

    Consecutive calendar months differ by exactly 1, so a calendar lag is a subtraction.
    """
    if months.dtype != MONTH_DTYPE:
        months = months.astype(MONTH_DTYPE)
    ordinals = np.asarray(months.array.asi8, dtype=np.int64)
    if (ordinals == np.iinfo(np.int64).min).any():
        raise ValueError("month contains missing values (NaT)")
    return ordinals


def kindergarten_year_calendar(ordinals: np.ndarray) -> pd.DataFrame:
    """Known-future calendar features for integer month indices (see :func:`month_ordinals`).

    Columns (prefix ``known_``):
    - ``calendar_month``: 1–12;
    - ``month_of_kg_year``: August = 1 … July = 12;
    - ``months_to_august``: months until the next August, 1 (July) … 12 (August itself: the
      shift has just happened, the next one is a year away);
    - ``is_august``: 1 in August, the month of the main intake and the age-3 shift, else 0;
    - ``is_summer``: 1 in June–July, when the oldest children leave for school, else 0;
    - ``kg_year``: the calendar year in which the kindergarten year started (Aug 2023–Jul 2024
      → 2023).
    """
    calendar_month = (ordinals % 12 + 1).astype(np.int16)
    year = (ordinals // 12 + 1970).astype(np.int16)
    month_of_kg_year = ((calendar_month - KG_YEAR_START_MONTH) % 12 + 1).astype(np.int16)
    months_to_august = 13 - month_of_kg_year
    p = KNOWN_FUTURE_PREFIX
    return pd.DataFrame(
        {
            f"{p}calendar_month": calendar_month,
            f"{p}month_of_kg_year": month_of_kg_year,
            f"{p}months_to_august": months_to_august.astype(np.int16),
            f"{p}is_august": (calendar_month == KG_YEAR_START_MONTH).astype(np.int8),
            f"{p}is_summer": np.isin(calendar_month, (6, 7)).astype(np.int8),
            f"{p}kg_year": (year - (calendar_month < KG_YEAR_START_MONTH)).astype(np.int16),
        }
    )


def next_august_year(ordinals: np.ndarray) -> np.ndarray:
    """Calendar year of the next August strictly after each month (August 2023 → 2024)."""
    calendar_month = ordinals % 12 + 1
    year = ordinals // 12 + 1970
    return (year + (calendar_month >= KG_YEAR_START_MONTH)).astype(np.int64)
