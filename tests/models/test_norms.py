"""The norms, checked the way a domain person would: hand-worked examples and Udir's ratio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.norms import (
    NormSettings,
    children_per_employee,
    counts_as_over3,
    norm_for,
    pedagogue_positions,
    special_needs_fte,
    staffing_need_fte,
)

UDIR_FILE = (
    Path(__file__).resolve().parents[2] / "data/real/oslo_kindergartens_3_districts_2024.csv"
)


def test_hand_worked_example_12_under3_30_over3() -> None:
    # (2·12 + 30) / 6 = 54 / 6 = 9.0 FTE; 54 / 14 = 3.857 → 4 pedagogical leaders
    assert staffing_need_fte(12, 30) == pytest.approx(9.0)
    ped = pedagogue_positions(12, 30)
    assert ped.exact == pytest.approx(54 / 14)
    assert ped.positions == 4


def test_pedagogue_norm_exact_multiple_is_not_rounded_up() -> None:
    # 7 under 3 and 14 over 3 = 28 equivalents = exactly 2 leaders, not 3
    assert pedagogue_positions(7, 14).positions == 2
    assert pedagogue_positions(7, 15).positions == 3


def test_one_adult_per_three_under3_and_six_over3() -> None:
    assert staffing_need_fte([3, 0], [0, 6]).tolist() == [1.0, 1.0]


def test_pedagogue_rule_before_august_2018_uses_lenient_old_bound() -> None:
    # 54 equivalents / 18 = 3 positions under the old rule, 4 under the new one
    assert pedagogue_positions(12, 30, month="2018-07").positions == 3
    assert pedagogue_positions(12, 30, month="2018-08").positions == 4


def test_no_staffing_norm_before_august_2019() -> None:
    assert staffing_need_fte(12, 30, month="2019-07") == 0.0
    assert staffing_need_fte(12, 30, month="2019-08") == pytest.approx(9.0)
    assert norm_for("staffing", "2019-07") is None


def test_every_norm_names_its_legal_source_and_start() -> None:
    staffing = norm_for("staffing", "2024-03")
    pedagogue = norm_for("pedagogue", "2024-03")
    assert staffing is not None and "§ 26" in staffing.source
    assert pedagogue is not None and "pedagogisk bemanning" in pedagogue.source
    assert staffing.valid_from == pd.Period("2019-08", "M")
    assert pedagogue.valid_from == pd.Period("2018-08", "M")


def test_special_needs_hours_default_settings() -> None:
    # 3 § 31 decisions × 5 h + 5 § 37 decisions × 3 h = 30 h/week = 0.8 FTE at 37.5 h
    assert special_needs_fte(3, 5) == pytest.approx(0.8)
    doubled = NormSettings(hours_per_week_31=10.0)
    assert special_needs_fte(3, 0, doubled) == pytest.approx(30 / 37.5)


def test_age_rule_counts_over3_from_august_of_the_year_turning_3() -> None:
    born_2021 = [2021]
    assert not counts_as_over3(born_2021, "2024-07")[0]
    assert counts_as_over3(born_2021, "2024-08")[0]
    assert counts_as_over3([2020], "2024-01")[0]
    assert not counts_as_over3([2022], "2024-12")[0]


def test_more_children_never_lower_the_need() -> None:
    u3, o3 = np.meshgrid(np.arange(40), np.arange(80), indexing="ij")
    need = staffing_need_fte(u3, o3)
    ped = pedagogue_positions(u3, o3).positions
    assert (np.diff(need, axis=0) > 0).all() and (np.diff(need, axis=1) > 0).all()
    assert (np.diff(ped, axis=0) >= 0).all() and (np.diff(ped, axis=1) >= 0).all()


def test_udir_ratio_6_means_the_staffing_norm_is_just_met() -> None:
    """Udir's "children per employee" counts under-3s double: a kindergarten at 6.0 has exactly
    the staff FTE the norm requires, whatever its age mix; above 6.0 it is short."""
    udir = pd.read_csv(UDIR_FILE).dropna(subset=["num_children", "children_per_employee"])
    assert len(udir) > 50
    for share_under3 in (0.0, 0.3, 0.5):
        u3 = np.round(udir["num_children"].to_numpy() * share_under3)
        o3 = udir["num_children"].to_numpy() - u3
        ratio = udir["children_per_employee"].to_numpy()
        staff = (2 * u3 + o3) / ratio  # the staff FTE that Udir's ratio implies
        assert children_per_employee(u3, o3, staff) == pytest.approx(ratio)
        need = staffing_need_fte(u3, o3)
        at_norm = ratio == 6.0
        assert at_norm.sum() > 10
        assert need[at_norm] == pytest.approx(staff[at_norm])
        assert (need[ratio < 6.0] < staff[ratio < 6.0]).all()
        assert (need[ratio > 6.0] > staff[ratio > 6.0]).all()
