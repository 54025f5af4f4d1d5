"""Two different questions about a kindergarten's staffing, kept apart:

* **Legal** — does the *contracted* staffing meet the staffing norm (barnehageloven § 26) and the
  pedagogue norm, now and in each forecast month? Sick leave does not enter: the law counts
  positions, and a kindergarten whose contracts meet the norms is not in breach when someone is
  ill. This is the question a "brudd" (breach) flag answers.
* **Effective** — does the cover that is left after expected sick leave meet the need? It says
  where the days will be hard even though the contracts are in order; shown beside the legal
  answer, never mixed into it.

Probabilities are shares of joint need scenarios (:class:`models.needs.NeedScenarios`), with no
cap: if every scenario breaches, the probability is 1. Functions are DataFrame/array → DataFrame;
column names are parameters where they come from data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.needs import NeedScenarios
from models.norms import pedagogue_positions, staffing_need_fte

#: FTE below the requirement that still counts as meeting it (rounding in the data)
TOLERANCE_FTE = 1e-6

LEGAL_NOW_COLUMNS = (
    "staff_need_fte_now",
    "pedagogue_need_now",
    "staff_gap_fte_now",
    "pedagogue_gap_now",
    "legal_staffing_ok_now",
    "legal_pedagogue_ok_now",
    "legal_ok_now",
)


def legal_now(
    latest: pd.DataFrame,
    *,
    month_column: str = "month",
    under3_column: str = "children_under3",
    over3_column: str = "children_over3",
    staff_column: str = "staff_fte",
    pedagogue_column: str = "pedagogue_fte",
) -> pd.DataFrame:
    """Per row of ``latest`` (one month's state per kindergarten): the norms' requirement for the
    children enrolled, the gap of the contracted FTE (positive = short) and whether each norm is
    met on paper, with the norms in force in that row's month."""
    out = pd.DataFrame(index=latest.index)
    staff_need = np.empty(len(latest))
    pedagogue_need = np.empty(len(latest))
    for i, (month, u3, o3) in enumerate(
        zip(latest[month_column], latest[under3_column], latest[over3_column], strict=True)
    ):
        staff_need[i] = float(staffing_need_fte(u3, o3, pd.Period(str(month), "M")))
        pedagogue_need[i] = float(pedagogue_positions(u3, o3, pd.Period(str(month), "M")).positions)
    staff = latest[staff_column].astype(float).to_numpy()
    pedagogues = latest[pedagogue_column].astype(float).to_numpy()
    out["staff_need_fte_now"] = staff_need
    out["pedagogue_need_now"] = pedagogue_need
    out["staff_gap_fte_now"] = staff_need - staff
    out["pedagogue_gap_now"] = pedagogue_need - pedagogues
    out["legal_staffing_ok_now"] = staff + TOLERANCE_FTE >= staff_need
    out["legal_pedagogue_ok_now"] = pedagogues + TOLERANCE_FTE >= pedagogue_need
    out["legal_ok_now"] = out["legal_staffing_ok_now"] & out["legal_pedagogue_ok_now"]
    return out


def breach_probabilities(needs: NeedScenarios, *, staff_step_fte: float = 0.0) -> pd.DataFrame:
    """Per kindergarten and forecast month, shares of scenarios (no cap) in which:

    * ``legal_staffing`` — contracted staff FTE < the staffing norm's requirement (with a
      ``staff_step_fte``: short of it by at least that much — a smaller shortfall is closed by
      the routine adjustment of part-time contracts as children are admitted, not by a hire),
    * ``legal_pedagogue`` — contracted pedagogue FTE < the pedagogue norm's positions,
    * ``legal`` — either of the two,
    * ``effective_staffing`` — staff FTE left after the scenario's sick leave < the requirement,
    * ``effective_pedagogue`` — the same for pedagogues,
    * ``effective`` — either.

    Contracted FTE is today's (``needs.current_fte``): what happens if nothing changes.
    """
    staff = needs.current_fte[:, 0][None, :, None]
    pedagogues = needs.current_fte[:, 1][None, :, None]
    present = 1.0 - needs.sick_leave_rate
    staff_need = needs.staff_need_fte
    pedagogue_need = needs.pedagogue_need
    legal_staffing = (
        staff_need - staff >= staff_step_fte - TOLERANCE_FTE
        if staff_step_fte > 0
        else staff + TOLERANCE_FTE < staff_need
    )
    legal_pedagogue = pedagogues + TOLERANCE_FTE < pedagogue_need
    effective_staffing = staff * present + TOLERANCE_FTE < staff_need
    effective_pedagogue = pedagogues * present + TOLERANCE_FTE < pedagogue_need
    shares = {
        "legal_staffing": legal_staffing,
        "legal_pedagogue": legal_pedagogue,
        "legal": legal_staffing | legal_pedagogue,
        "effective_staffing": effective_staffing,
        "effective_pedagogue": effective_pedagogue,
        "effective": effective_staffing | effective_pedagogue,
    }
    n_k, n_m = len(needs.kindergarten_ids), len(needs.months)
    frame = pd.DataFrame(
        {
            "kindergarten_id": np.repeat(np.asarray(needs.kindergarten_ids, dtype=object), n_m),
            "month": np.tile(np.asarray(needs.months.astype(str), dtype=object), n_k),
        }
    )
    for name, breached in shares.items():
        frame[name] = breached.mean(axis=0).reshape(n_k * n_m)
    return frame


def compliance_by_kindergarten(probabilities: pd.DataFrame) -> pd.DataFrame:
    """Per kindergarten over the forecast months: the highest monthly probability of a legal
    breach and of an effective shortfall, and the first month a legal breach is more likely than
    not (empty if none)."""
    grouped = probabilities.groupby("kindergarten_id", sort=True)
    out = pd.DataFrame(
        {
            "legal_breach_probability": grouped["legal"].max(),
            "legal_staffing_breach_probability": grouped["legal_staffing"].max(),
            "legal_pedagogue_breach_probability": grouped["legal_pedagogue"].max(),
            "effective_breach_probability": grouped["effective"].max(),
        }
    )
    likely = probabilities[probabilities["legal"] > 0.5]
    out["first_likely_legal_breach"] = likely.groupby("kindergarten_id")["month"].min()
    return out


def share_compliant(legal_ok: pd.Series) -> float:
    """Share of kindergartens whose contracted staffing meets both norms (NaN for none)."""
    values = legal_ok.dropna().astype(bool)
    return float(values.mean()) if len(values) else float("nan")
