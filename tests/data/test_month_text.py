"""Months as text: each distinct month formatted once gives what pandas' ``astype(str)`` gives."""

from __future__ import annotations

import pandas as pd

from data.periods import month_text


def test_month_text_equals_astype_str() -> None:
    months = pd.Series(
        pd.PeriodIndex(["2024-01", None, "2023-12", "2024-01", "1999-07"], freq="M"),
        index=[5, 6, 7, 8, 9],
        name="origin",
    )
    for values in (months, months.iloc[:0], months.dropna(), months.astype(str)):
        pd.testing.assert_series_equal(month_text(values), values.astype(str))
    assert month_text(months).tolist() == ["2024-01", "NaT", "2023-12", "2024-01", "1999-07"]
