"""Plausibility in the contract: impossible magnitudes and future months are errors, implausible
jumps warnings; control characters in numbers are refused; .xlsx formulas without a stored value
are named; empty text means missing alike in CSV, Parquet and DuckDB."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from contract_helpers import edit_csv, only, problems_of, tiny_district, write_tiny

from data.plausibility import CHILDREN_JUMP, FUTURE_MONTH, LEAST_CHILDREN_JUMP, current_month
from data.readers import FORMULA_WITHOUT_VALUE
from data.validate import read_district

# monthly.csv rows as the user counts them: K00 2023-06 … 08 are rows 2–4, K01 rows 5–7
K00_JULY, K01_JUNE = 3, 5


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_tiny(tmp_path / "data")


@pytest.mark.parametrize(
    ("file", "column", "value", "what"),
    [
        ("monthly.csv", "staff_fte", "1e300", "staff FTE in one kindergarten"),
        ("monthly.csv", "pedagogue_fte", "301", "pedagogue FTE in one kindergarten"),
        ("monthly.csv", "children_over3", "1000000", "children 3 and over in one kindergarten"),
        ("monthly.csv", "waiting_list", "50000", "applicants waiting for one kindergarten"),
        ("kindergartens.csv", "capacity", "100000", "capacity in places"),
    ],
)
def test_impossible_magnitudes_are_errors(
    folder: Path, file: str, column: str, value: str, what: str
) -> None:
    edit_csv(folder / file, K00_JULY, column, value)
    problems = problems_of(folder)
    (problem,) = [p for p in problems if "impossible magnitude" in p.rule]
    assert (problem.file, problem.row, problem.column) == (file, K00_JULY, column)
    assert what in problem.rule and problem.severity == "error"


def test_children_together_beyond_any_kindergarten_is_an_error(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", K00_JULY, "children_under3", "600")
    edit_csv(folder / "monthly.csv", K00_JULY, "children_over3", "600")
    problem = only(
        problems_of(folder), "impossible magnitude: more than 1000 children in one kindergarten"
    )
    assert (problem.row, problem.value) == (K00_JULY, 1200.0)


def test_observed_months_after_the_present_are_errors(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", K00_JULY, "month", "9999-12")
    present = current_month()
    problem = only(problems_of(folder), FUTURE_MONTH.format(present=present))
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "monthly.csv",
        K00_JULY,
        "month",
        "9999-12",
    )
    edit_csv(folder / "monthly.csv", K00_JULY, "month", str(present))
    read_district(folder)  # this month is fine


def test_a_doubling_from_one_month_to_the_next_is_a_warning(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", K00_JULY, "children_over3", "100")  # 42 → 112 children
    district = read_district(folder)
    rule = CHILDREN_JUMP.format(least=LEAST_CHILDREN_JUMP)
    jumps = [w for w in district.warnings if w.rule == rule]
    assert [(w.row, w.value) for w in jumps] == [(K00_JULY, "42.0 → 112.0"), (4, "112.0 → 42.0")]
    assert all(w.severity == "warning" for w in jumps)


@pytest.mark.parametrize("text", ["3\x004", "3\x1f4", "\x0b3", "3\x7f"])
def test_control_characters_in_numbers_are_refused(folder: Path, text: str) -> None:
    path = folder / "monthly.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[K00_JULY - 1].split(",")
    cells[header.index("staff_fte")] = text
    lines[K00_JULY - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problem = only(problems_of(folder), "value is not a number")
    assert (problem.row, problem.column, problem.value) == (K00_JULY, "staff_fte", text)


def test_xlsx_formulas_without_a_stored_value_are_named(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    folder = write_tiny(tmp_path / "data", "xlsx")
    book = load_workbook(folder / "monthly.xlsx")
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    column = header.index("staff_fte") + 1
    sheet.cell(row=K01_JUNE, column=column, value="=2*5")  # openpyxl stores no result
    book.save(folder / "monthly.xlsx")
    problem = only(problems_of(folder), FORMULA_WITHOUT_VALUE)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "monthly.xlsx",
        K01_JUNE,
        "staff_fte",
        "=2*5",
    )


@pytest.mark.parametrize("fmt", ["parquet", "duckdb"])
def test_empty_text_is_missing_in_typed_formats_as_in_csv(tmp_path: Path, fmt: str) -> None:
    expected = read_district(write_tiny(tmp_path / "csv", "csv"))
    district = tiny_district()
    monthly = district.monthly.copy()
    # optional columns exported as text, blank where empty (as many BI tools write them)
    for column in ("waiting_list", "resource_pedagogue_fte", "minority_language_share"):
        monthly[column] = [
            ""
            if pd.isna(v)
            else ("  " if i == 4 and column == "minority_language_share" else str(v))
            for i, v in enumerate(monthly[column])
        ]
    district.monthly = monthly
    path = tmp_path / fmt
    if fmt == "parquet":
        write_tiny(path, "parquet", tiny_district())
        monthly.assign(month=monthly["month"].astype(str)).to_parquet(path / "monthly.parquet")
    else:
        import duckdb

        path = write_tiny(path, "duckdb", tiny_district())
        con = duckdb.connect(str(path))
        frame = monthly.assign(month=monthly["month"].astype(str))
        con.execute("drop table monthly")
        con.register("typed_text", frame)
        con.execute("create table monthly as select * from typed_text")
        con.close()
    got = read_district(path)
    assert len(got.monthly) == len(expected.monthly)
    pd.testing.assert_series_equal(got.monthly["waiting_list"], expected.monthly["waiting_list"])
    assert got.monthly["resource_pedagogue_fte"].isna().all()
    assert got.monthly["minority_language_share"].isna().sum() == 1
