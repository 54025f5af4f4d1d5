"""Features that carry the August intake mechanism, from what the data reveal: approved capacity,
the counts before and after each August, the estimated age structure and the waiting list.

In Oslo the main intake fills the places left free after the age shift (the older under-3s turn
over 3, the oldest over-3s leave for school) up to approved capacity, as far as the applicants at
the deadline allow (DOMAIN.md; a child under 3 uses two places). A forecaster that only knows
each kindergarten's own seasonal shape learns one simulator's refill; these features name the
quantities the intake depends on, so a model can learn the mechanism on whatever data it is
given:

- ``places_free_after_next_august``: capacity in places, minus two per under-3 who stays under 3
  (the younger under-3 cohort), minus one per child who is over 3 after the shift and stays (the
  older under-3 cohort crossing the line, and the youngest and middle over-3 cohorts; the oldest
  leaves for school). Cohorts from :func:`features.age_cohorts.learned_age_cohort_estimate` at
  t (re-anchored each August as far as the data support); the formula holds from any origin
  month, since "the next August" is always the next shift of the cohorts held at t;
- ``estimated_crossing_next_august``, ``estimated_school_leavers_next_summer``: the estimated
  older under-3 cohort, and the cohort that leaves for school next (the oldest over-3 cohort,
  or in July, where the data show the school starters gone by then, the middle one:
  :func:`features.age_cohorts.leaving_cohort`);
- ``under3_intake_last_august``: the under-3s in the last August (≤ t) less the estimated younger
  under-3 cohort of the July before (those who stayed under 3): the children who joined under 3
  at the shift, net of moves;
- ``places_used_change_last_august``: places used in the last August less in the July before;
- ``capacity_utilisation_last_august`` and ``capacity_utilisation_peak_12m``: places used ÷
  capacity in the last August, and the highest over the 12 months up to t: how full it ran;
- ``waiting_list_at_deadline``: the waiting list at the end of the last application-deadline
  month (:data:`DEADLINE_MONTH`, Oslo's main round closes 1 March) up to t.

Everything at month t reads months ≤ t only (point-in-time); a value read from a month missing in
the data is NaN until the next such month, never filled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.age_cohorts import (
    AUGUST,
    MIDDLE_OVER3,
    OLDER_UNDER3,
    YOUNGER_UNDER3,
    YOUNGEST_OVER3,
    learned_age_cohort_estimate,
    leaving_cohort,
)
from features.calendar import month_ordinals
from features.lags import CalendarGrid

#: The month whose end-of-month waiting list is the demand at the main application deadline.
DEADLINE_MONTH = 3
#: Months over which the peak utilisation is taken.
UTILISATION_PEAK_MONTHS = 12

#: Columns of :func:`intake_mechanism_grids`, in order; the waiting-list one only with a list.
MECHANISM_FEATURES = (
    "places_free_after_next_august",
    "estimated_crossing_next_august",
    "estimated_school_leavers_next_summer",
    "under3_intake_last_august",
    "places_used_change_last_august",
    "capacity_utilisation_last_august",
    "capacity_utilisation_peak_12m",
    "waiting_list_at_deadline",
)


def last_of_month(values: np.ndarray, calendar_month: np.ndarray, month: int) -> np.ndarray:
    """(rows, months): at each column t the value of the last column ≤ t whose calendar month is
    ``month`` (NaN before the first one, and NaN where that column's value is NaN)."""
    out = np.full(values.shape, np.nan)
    current = np.full(values.shape[0], np.nan)
    for t, m in enumerate(np.asarray(calendar_month)):
        if m == month:
            current = values[:, t].astype(np.float64)
        out[:, t] = current
    return out


def intake_mechanism_grids(
    under3: np.ndarray,
    over3: np.ndarray,
    capacity: np.ndarray,
    calendar_month: np.ndarray,
    waiting_list: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The :data:`MECHANISM_FEATURES` on a dense (kindergarten × month) grid: ``under3``,
    ``over3`` (and ``waiting_list``) counts with NaN for a gap, ``capacity`` in places per
    kindergarten, ``calendar_month`` (1–12) of each column."""
    under3 = np.asarray(under3, dtype=np.float64)
    over3 = np.asarray(over3, dtype=np.float64)
    capacity = np.asarray(capacity, dtype=np.float64)[:, None]
    calendar_month = np.asarray(calendar_month, dtype=np.int64)
    estimate = learned_age_cohort_estimate(under3, over3, calendar_month)
    cohorts = estimate.cohorts
    staying = (
        2.0 * cohorts[:, :, YOUNGER_UNDER3]
        + cohorts[:, :, OLDER_UNDER3]
        + cohorts[:, :, YOUNGEST_OVER3]
        + cohorts[:, :, MIDDLE_OVER3]
    )
    next_leavers = leaving_cohort(calendar_month, estimate.leaving_month)
    leaving = np.take_along_axis(
        cohorts, np.broadcast_to(next_leavers[None, :, None], (*cohorts.shape[:2], 1)), axis=2
    )[:, :, 0]
    places = 2.0 * under3 + over3
    with np.errstate(invalid="ignore", divide="ignore"):
        utilisation = places / capacity
    # the July before each August, placed on the August's column
    july_younger = np.full(under3.shape, np.nan)
    july_places = np.full(under3.shape, np.nan)
    july_younger[:, 1:] = cohorts[:, :-1, YOUNGER_UNDER3]
    july_places[:, 1:] = places[:, :-1]
    out = {
        "places_free_after_next_august": capacity - staying,
        "estimated_crossing_next_august": cohorts[:, :, OLDER_UNDER3],
        "estimated_school_leavers_next_summer": leaving,
        "under3_intake_last_august": last_of_month(under3 - july_younger, calendar_month, AUGUST),
        "places_used_change_last_august": last_of_month(
            places - july_places, calendar_month, AUGUST
        ),
        "capacity_utilisation_last_august": last_of_month(utilisation, calendar_month, AUGUST),
        "capacity_utilisation_peak_12m": _trailing_max(utilisation, UTILISATION_PEAK_MONTHS),
    }
    if waiting_list is not None:
        out["waiting_list_at_deadline"] = last_of_month(
            np.asarray(waiting_list, dtype=np.float64), calendar_month, DEADLINE_MONTH
        )
    present = ~np.isnan(under3) & ~np.isnan(over3)
    return {name: np.where(present, values, np.nan) for name, values in out.items()}


def _trailing_max(values: np.ndarray, window: int) -> np.ndarray:
    """Highest value over columns t − window + 1 … t, ignoring NaN (NaN where all are)."""
    out = values.copy()
    for lag in range(1, min(window, values.shape[1])):
        out[:, lag:] = np.fmax(out[:, lag:], values[:, :-lag])
    return out


def intake_mechanism_features(
    frame: pd.DataFrame,
    *,
    id_col: str,
    month_col: str,
    under3_col: str,
    over3_col: str,
    capacity_col: str,
    waiting_list_col: str | None = None,
    grid: CalendarGrid | None = None,
) -> pd.DataFrame:
    """The :data:`MECHANISM_FEATURES` of each row of a long (kindergarten, month) ``frame``
    (float32, aligned with its index); ``capacity_col`` holds each kindergarten's capacity in
    places on every row. The waiting-list feature is left out without ``waiting_list_col``."""
    grid = grid or CalendarGrid.from_frame(frame, id_col=id_col, month_col=month_col)
    first = int(month_ordinals(frame[month_col]).min()) if len(frame) else 0
    calendar_month = (first + np.arange(grid.n_months)) % 12 + 1
    capacity = np.full(grid.n_series, np.nan)
    capacity[grid.codes] = pd.to_numeric(frame[capacity_col], errors="coerce").to_numpy(
        np.float64, na_value=np.nan
    )
    columns: Sequence[str | None] = (under3_col, over3_col, waiting_list_col)
    dense = [
        None if c is None else grid.dense(frame[c].to_numpy(np.float64, na_value=np.nan))
        for c in columns
    ]
    under3, over3, waiting = dense
    assert under3 is not None and over3 is not None
    grids = intake_mechanism_grids(under3, over3, capacity, calendar_month, waiting)
    return pd.DataFrame(
        {name: values.reshape(-1)[grid.cells].astype(np.float32) for name, values in grids.items()},
        index=frame.index,
    )
