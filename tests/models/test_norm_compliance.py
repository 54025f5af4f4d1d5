"""Legal against effective: contracted FTE against the norms (sick leave never enters), cover
after sick leave apart, probabilities as plain shares of scenarios (no cap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.needs import NeedScenarios
from models.norm_compliance import (
    breach_probabilities,
    compliance_by_kindergarten,
    legal_now,
    share_compliant,
)


def test_legal_now_uses_contracted_fte_and_the_norms_in_force() -> None:
    latest = pd.DataFrame(
        {
            "month": [
                pd.Period("2025-06", "M"),
                pd.Period("2025-06", "M"),
                pd.Period("2017-06", "M"),
            ],
            "children_under3": [12, 12, 12],
            "children_over3": [30, 30, 30],
            "staff_fte": [9.0, 8.9, 1.0],
            "pedagogue_fte": [4.0, 3.0, 3.0],
        },
        index=["exact", "short", "before the norms"],
    )
    out = legal_now(latest)
    # (2·12 + 30) / 6 = 9 FTE; ceil(54 / 14) = 4 pedagogues (2017: no staffing norm, ceil(54/18))
    assert out.loc["exact", "legal_ok_now"]
    assert not out.loc["short", "legal_staffing_ok_now"]
    assert not out.loc["short", "legal_pedagogue_ok_now"]
    assert out.loc["short", "staff_gap_fte_now"] == pytest.approx(0.1)
    assert out.loc["before the norms", "staff_need_fte_now"] == 0.0
    assert out.loc["before the norms", "pedagogue_need_now"] == 3.0
    assert out.loc["before the norms", "legal_ok_now"]
    assert share_compliant(out["legal_ok_now"]) == pytest.approx(2 / 3)


def _needs(under3: np.ndarray, sick: float, staff: float) -> NeedScenarios:
    shape = under3.shape
    return NeedScenarios(
        kindergarten_ids=("K1",),
        months=pd.period_range("2026-01", periods=shape[2], freq="M"),
        children_under3=under3.astype(float),
        children_over3=np.full(shape, 30.0),
        vedtak_31=np.zeros(shape),
        vedtak_37=np.zeros(shape),
        sick_leave_rate=np.full(shape, sick),
        current_fte=np.array([[staff, 5.0, 0.0]]),
    )


def test_breach_probabilities_are_shares_of_scenarios_without_a_cap() -> None:
    # 4 scenarios × 2 months; 10 FTE cover (2·U3 + 30) / 6 ≤ 10 ⇔ U3 ≤ 15
    under3 = np.array([[[12, 12]], [[15, 16]], [[18, 18]], [[14, 20]]])
    probabilities = breach_probabilities(_needs(under3, sick=0.0, staff=10.0))
    assert probabilities["legal_staffing"].tolist() == [0.25, 0.75]
    assert probabilities["legal"].tolist() == [0.25, 0.75]  # 5 pedagogues always enough
    assert probabilities["effective"].tolist() == [0.25, 0.75]  # no sick leave: the same
    everyone = breach_probabilities(_needs(np.full((4, 1, 2), 30), sick=0.0, staff=10.0))
    assert everyone["legal"].tolist() == [1.0, 1.0]  # every scenario: 1, not capped


def test_sick_leave_moves_the_effective_answer_never_the_legal_one() -> None:
    under3 = np.full((5, 1, 3), 12)  # need 9 FTE; 10 contracted
    probabilities = breach_probabilities(_needs(under3, sick=0.15, staff=10.0))
    assert (probabilities["legal"] == 0.0).all()
    assert (probabilities["effective_staffing"] == 1.0).all()  # 8.5 FTE present
    summary = compliance_by_kindergarten(probabilities)
    assert summary.loc["K1", "legal_breach_probability"] == 0.0
    assert summary.loc["K1", "effective_breach_probability"] == 1.0
    assert pd.isna(summary.loc["K1", "first_likely_legal_breach"])


def test_a_staffing_shortfall_counts_from_a_hiring_step_when_one_is_given() -> None:
    # 10 FTE contracted; U3 = 16 → need 31/3 ≈ 10.33 (0.33 short), U3 = 17 → 10.67 (0.67 short)
    under3 = np.array([[[15, 16]], [[15, 17]]])
    exact = breach_probabilities(_needs(under3, sick=0.0, staff=10.0))
    assert exact["legal_staffing"].tolist() == [0.0, 1.0]
    stepped = breach_probabilities(_needs(under3, sick=0.0, staff=10.0), staff_step_fte=0.5)
    assert stepped["legal_staffing"].tolist() == [0.0, 0.5]  # only the 0.67 short counts
    # a shortfall of exactly one step counts; the pedagogue norm counts from any shortfall
    one_step = breach_probabilities(_needs(np.full((1, 1, 1), 15), 0.0, 9.5), staff_step_fte=0.5)
    assert one_step["legal_staffing"].tolist() == [1.0]
    # the effective answer is never stepped
    assert stepped["effective_staffing"].tolist() == exact["effective_staffing"].tolist()
