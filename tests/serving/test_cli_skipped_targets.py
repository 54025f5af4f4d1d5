"""`train` names the targets it skipped because the data lack them (a renamed header must not
drop a forecast silently), and not those the user left out with --target."""

from __future__ import annotations

import pandas as pd
import pytest

from data.contract import District
from serving.commands.training_tables import _print_skipped_targets


def _district(monthly: pd.DataFrame) -> District:
    kindergartens = pd.DataFrame(
        {"kindergarten_id": ["a"], "name": ["A"], "district": ["D"], "capacity": [50]}
    )
    return District(kindergartens=kindergartens, monthly=monthly)


@pytest.fixture
def district() -> District:
    monthly = pd.DataFrame(
        {
            "kindergarten_id": ["a"],
            "month": [pd.Period("2024-01", "M")],
            "children_under3": [10],
            "children_over3": [20],
            "vedtak_31": [1],
            "vedtak_37": [0],
            "staff_fte": [8.0],
            "pedagogue_fte": [3.0],
            "sykefravaer": [0.1],
            "staff_leavers": [None],
        }
    )
    return _district(monthly)


def test_train_lists_the_targets_the_data_lack(district: District, capsys) -> None:
    trained = {"children_under3", "children_over3", "vedtak_31", "vedtak_37"}
    _print_skipped_targets(district, trained=trained, asked=None)
    printed = " ".join(capsys.readouterr().out.split())
    assert "Skipped target(s): sick_leave_rate, staff_leavers" in printed


def test_targets_left_out_on_purpose_are_not_called_skipped(district: District, capsys) -> None:
    _print_skipped_targets(district, trained={"children_under3"}, asked=["children_under3"])
    assert "Skipped" not in capsys.readouterr().out
