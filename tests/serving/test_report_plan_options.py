"""The plan options `bemanning plan` and `bemanning report` share: every bad value reported at
once, named by option and position."""

from __future__ import annotations

import pandas as pd
import pytest

from data.errors import UserInputError
from serving.plan_options import parse_plan_options, parse_pools


def test_pools_parse_to_fte_per_resource() -> None:
    assert parse_pools(["staff=8", "pedagogue=4", "resource_pedagogue=2.5"]) == {
        "staff": 8.0,
        "pedagogue": 4.0,
        "resource_pedagogue": 2.5,
    }
    assert parse_pools(None) == {}


def test_every_bad_pool_is_reported_with_its_position() -> None:
    with pytest.raises(UserInputError) as caught:
        parse_pools(
            [
                "staff",
                "teachers=2",
                "staff=-1",
                "pedagogue=many",
                "pedagogue=1",
                "pedagogue=2",
                "staff=inf",
            ]
        )
    problems = [str(p) for p in caught.value.problems]
    assert problems == [
        "error: --pool, row 1, column 'staff': must be RESOURCE=FTE, e.g. staff=8 (found 'staff')",
        "error: --pool, row 2, column 'teachers': resource must be one of staff, pedagogue, "
        "resource_pedagogue (found 'teachers=2')",
        "error: --pool, row 3, column 'staff': FTE must be a finite number ≥ 0 (found 'staff=-1')",
        "error: --pool, row 4, column 'pedagogue': FTE must be a number (found 'pedagogue=many')",
        "error: --pool, row 6, column 'pedagogue': resource given more than once "
        "(found 'pedagogue=2')",
        "error: --pool, row 7, column 'staff': FTE must be a finite number ≥ 0 (found 'staff=inf')",
    ]


def test_scalar_options_are_checked_together() -> None:
    assert parse_plan_options(budget=1e6, start="2025-08", months=12, risk=0.9) == (
        1e6,
        pd.Period("2025-08", "M"),
    )
    with pytest.raises(UserInputError) as caught:
        parse_plan_options(budget=-5, start="2025-13", months=0, risk=0.2)
    assert [p.file for p in caught.value.problems] == ["--budget", "--start", "--months", "--risk"]
