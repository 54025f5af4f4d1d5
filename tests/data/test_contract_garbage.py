"""Whatever a person types into a numeric cell, the reader reports it or reads it — never crashes,
never drops it silently."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from contract_helpers import edit_csv, tiny_district, write_tiny
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.errors import DataContractError
from data.validate import read_district

#: column → (kind, required)
NUMERIC_COLUMNS = {
    "children_under3": ("count", True),
    "vedtak_31": ("count", False),
    "sick_leave_rate": ("share", False),
    "staff_fte": ("fte", True),
}
ROW = 6  # K01, 2023-07: the fifth data row

printable = st.characters(blacklist_categories=("Cc", "Cs"))
garbage = st.one_of(
    st.text(alphabet=printable, max_size=12),
    st.from_regex(r"\A[-+ ]?\d{0,4}([.,]\d{0,3})?([eE][-+]?\d{1,3})?%?\Z"),
    st.sampled_from(["nan", "NA", "inf", "-0", "1e400", "0x10", "½", "٣", "１２", "—", "TRUE"]),
)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(column=st.sampled_from(sorted(NUMERIC_COLUMNS)), text=garbage)
def test_garbage_in_a_numeric_cell_is_reported_or_read(column: str, text: str) -> None:
    kind, required = NUMERIC_COLUMNS[column]
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tiny(Path(tmp) / "data", district=BASE)
        edit_csv(folder / "monthly.csv", ROW, column, text)
        try:
            district = read_district(folder)
        except DataContractError as exc:
            errors = exc.errors
            assert errors, "a DataContractError must list at least one error"
            assert all((p.file, p.row, p.column) == ("monthly.csv", ROW, column) for p in errors)
            assert len(errors) == 1
            return
    # Read without complaint: the cell must hold exactly what the text says.
    value: Any = district.monthly.loc[4, column]
    assert (district.monthly.loc[4, "kindergarten_id"], str(district.monthly.loc[4, "month"])) == (
        "K01",
        "2023-07",
    )
    if pd.isna(value):
        assert not required and text.strip() == ""
        return
    number = float(text.strip().replace(",", "."))
    assert math.isclose(float(value), number)
    if kind == "count":
        assert number >= 0 and number == int(number)
    if kind == "share":
        assert 0 <= number <= 1
    if kind == "fte":
        assert number >= 0


BASE = tiny_district()
