"""One test per rule of the data contract: the exact message, and the file, row (as the user
counts it: header = row 1), column and value it names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from contract_helpers import edit_csv, only, problems_of, tiny_district, write_tiny

from data.errors import DataContractError, UserInputError
from data.validate import read_district


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_tiny(tmp_path / "data")


def test_the_tiny_district_is_valid(folder: Path) -> None:
    district = read_district(folder)
    assert len(district.kindergartens) == 3
    assert len(district.monthly) == 9
    assert district.warnings == []


def test_missing_file(folder: Path) -> None:
    (folder / "monthly.csv").unlink()
    problems = problems_of(folder)
    problem = only(problems, "required file is missing (looked for .csv, .parquet, .xlsx)")
    assert problem.file == "monthly.*"


def test_missing_table_in_duckdb(tmp_path: Path) -> None:
    import duckdb

    database = tmp_path / "district.duckdb"
    con = duckdb.connect(str(database))
    con.execute("create table kindergartens (kindergarten_id varchar)")
    con.close()
    problems = problems_of(database)
    problem = only(problems, "required table is missing from the DuckDB file")
    assert problem.file == "district.duckdb:monthly"


def test_population_is_optional(folder: Path) -> None:
    (folder / "population.csv").unlink()
    assert read_district(folder).population is None


def test_missing_required_column(folder: Path) -> None:
    monthly = pd.read_csv(folder / "monthly.csv", dtype=str)
    monthly.drop(columns="children_over3").to_csv(folder / "monthly.csv", index=False)
    problem = only(problems_of(folder), "required column is missing")
    assert (problem.file, problem.column, problem.row) == ("monthly.csv", "children_over3", None)


def test_wrong_type(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", 4, "children_under3", "tolv")
    problem = only(problems_of(folder), "value is not a number")
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "monthly.csv",
        4,
        "children_under3",
        "tolv",
    )


def test_negative_count(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", 3, "vedtak_31", "-2")
    problem = only(problems_of(folder), "count must not be negative")
    assert (problem.row, problem.column, problem.value) == (3, "vedtak_31", -2)


def test_non_integer_count(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", 5, "children_over3", "30.5")
    problem = only(problems_of(folder), "count must be a whole number")
    assert (problem.row, problem.column, problem.value) == (5, "children_over3", "30.5")


def test_share_outside_zero_one(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", 2, "sick_leave_rate", "8.3")  # a percent, not a share
    problem = only(problems_of(folder), "share must be between 0 and 1")
    assert (problem.row, problem.column, problem.value) == (2, "sick_leave_rate", 8.3)


def test_negative_fte(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", 10, "pedagogue_fte", "-1.5")
    problem = only(problems_of(folder), "FTE must not be negative")
    assert (problem.row, problem.column, problem.value) == (10, "pedagogue_fte", -1.5)


@pytest.mark.parametrize("text", ["2023-6", "juni 2023", "2023-13", "2023/06", "06-2023"])
def test_month_not_yyyy_mm(folder: Path, text: str) -> None:
    edit_csv(folder / "monthly.csv", 2, "month", text)
    problem = only(problems_of(folder), "month must be YYYY-MM")
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "monthly.csv",
        2,
        "month",
        text,
    )


def test_opened_not_yyyy_mm(folder: Path) -> None:
    edit_csv(folder / "kindergartens.csv", 3, "opened", "aug. 2015")
    problem = only(problems_of(folder), "month must be YYYY-MM")
    assert (problem.file, problem.row, problem.column) == ("kindergartens.csv", 3, "opened")


def test_duplicate_kindergarten_month(folder: Path) -> None:
    monthly = pd.read_csv(folder / "monthly.csv", dtype=str, keep_default_na=False)
    pd.concat([monthly, monthly.iloc[[4]]]).to_csv(folder / "monthly.csv", index=False)
    problem = only(problems_of(folder), "duplicate (kindergarten_id, month)")
    # The copy is the 10th data row: row 11 with the header as row 1.
    assert (problem.row, problem.column, problem.value) == (
        11,
        "kindergarten_id, month",
        "K01, 2023-07",
    )


def test_duplicate_kindergarten_id(folder: Path) -> None:
    edit_csv(folder / "kindergartens.csv", 4, "kindergarten_id", "K00")
    problems = problems_of(folder)
    problem = only(problems, "duplicate kindergarten_id")
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "kindergartens.csv",
        4,
        "kindergarten_id",
        "K00",
    )


def test_monthly_row_for_unknown_kindergarten(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", 7, "kindergarten_id", "K99")
    problem = only(problems_of(folder), "kindergarten_id is not in the kindergartens table")
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "monthly.csv",
        7,
        "kindergarten_id",
        "K99",
    )


def test_monthly_row_outside_opened_closed(folder: Path) -> None:
    edit_csv(folder / "kindergartens.csv", 3, "closed", "2023-07")  # K01 closes in July
    problem = only(problems_of(folder), "month is outside the kindergarten's opened/closed months")
    assert (problem.file, problem.row, problem.column) == ("monthly.csv", 7, "month")
    assert problem.value == "2023-08 (opened -, closed 2023-07)"


def test_closed_before_opened(folder: Path) -> None:
    edit_csv(folder / "kindergartens.csv", 2, "closed", "2009-07")  # opened 2010-08
    problems = problems_of(folder)
    problem = only(problems, "closed is before opened")
    assert (problem.file, problem.row, problem.column) == ("kindergartens.csv", 2, "closed")


def test_above_capacity_is_a_warning_not_an_error(folder: Path) -> None:
    # K02 (capacity 84): 2·20 + 50 = 90 places > 1.1·84 = 92.4? No; 2·22 + 50 = 94 > 92.4: yes.
    edit_csv(folder / "monthly.csv", 9, "children_under3", "20")
    edit_csv(folder / "monthly.csv", 9, "children_over3", "50")
    assert read_district(folder).warnings == []
    edit_csv(folder / "monthly.csv", 9, "children_under3", "22")
    district = read_district(folder)
    (warning,) = district.warnings
    assert warning.severity == "warning"
    assert warning.rule == (
        "children above capacity by more than 10 % (2·under-3 + over-3 > 1.1·capacity)"
    )
    assert (warning.file, warning.row) == ("monthly.csv", 9)
    assert warning.value == "2·22 + 50 = 94 places for capacity 84"


def test_zero_byte_file_is_empty(folder: Path) -> None:
    (folder / "kindergartens.csv").write_bytes(b"")
    problem = only(problems_of(folder), "file has no data rows")
    assert problem.file == "kindergartens.csv"


def test_header_only_file_is_empty(folder: Path) -> None:
    header = (folder / "monthly.csv").read_text().splitlines()[0]
    (folder / "monthly.csv").write_text(header + "\n")
    problem = only(problems_of(folder), "file has no data rows")
    assert problem.file == "monthly.csv"


def test_population_year_not_an_integer(folder: Path) -> None:
    edit_csv(folder / "population.csv", 3, "year", "2024.5")
    edit_csv(folder / "population.csv", 4, "year", "2023/24")
    problems = [p for p in problems_of(folder) if p.rule == "year must be a whole number"]
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [
        ("population.csv", 3, "year", "2024.5"),
        ("population.csv", 4, "year", "2023/24"),
    ]


def test_duplicate_population_row(folder: Path) -> None:
    edit_csv(folder / "population.csv", 4, "year", "2023")
    edit_csv(folder / "population.csv", 4, "area", "")  # now the same as row 2: district, 2023
    problem = only(problems_of(folder), "duplicate (district, area, year)")
    assert (problem.file, problem.row) == ("population.csv", 4)


def test_required_value_empty(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", 6, "staff_fte", "")
    problem = only(problems_of(folder), "required value is empty")
    assert (problem.row, problem.column, problem.value) == (6, "staff_fte", None)


def test_optional_value_empty_stays_missing(folder: Path) -> None:
    edit_csv(folder / "monthly.csv", 6, "vedtak_37", "")
    edit_csv(folder / "monthly.csv", 6, "sick_leave_rate", "")
    monthly = read_district(folder).monthly
    row = monthly.iloc[4]  # sorted by (kindergarten_id, month): data row 5 = file row 6
    assert (row["kindergarten_id"], str(row["month"])) == ("K01", "2023-07")
    assert row["vedtak_37"] is pd.NA
    assert pd.isna(row["sick_leave_rate"])
    assert monthly["vedtak_37"].notna().sum() == 8  # nothing filled in


def test_more_than_one_file_for_a_table(folder: Path) -> None:
    pd.read_csv(folder / "population.csv").to_parquet(folder / "population.parquet")
    problem = only(problems_of(folder), "more than one file holds this table; keep one")
    assert problem.value == "population.csv, population.parquet"


def test_unreadable_file(folder: Path) -> None:
    (folder / "monthly.csv").unlink()
    (folder / "monthly.parquet").write_bytes(b"this is not parquet")
    problem = only(problems_of(folder), "file cannot be read")
    assert problem.file == "monthly.parquet"


def test_duplicate_column_name(folder: Path) -> None:
    text = (folder / "kindergartens.csv").read_text().splitlines()
    text = [line + (",area" if i == 0 else ",Kampen") for i, line in enumerate(text)]
    (folder / "kindergartens.csv").write_text("\n".join(text) + "\n")
    problem = only(problems_of(folder), "column name appears more than once")
    assert (problem.file, problem.row, problem.column) == ("kindergartens.csv", 1, "area")


def test_data_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        read_district(tmp_path / "nowhere")


def test_every_problem_in_every_file_at_once(folder: Path) -> None:
    edit_csv(folder / "kindergartens.csv", 2, "capacity", "-72")
    edit_csv(folder / "monthly.csv", 3, "month", "2023-7")
    edit_csv(folder / "monthly.csv", 8, "low_income_share", "1,5")
    edit_csv(folder / "population.csv", 2, "population_1_5", "mange")
    with pytest.raises(DataContractError, match="4 problem") as caught:
        read_district(folder)
    found = {(p.file, p.row, p.column, p.rule) for p in caught.value.problems}
    assert found == {
        ("kindergartens.csv", 2, "capacity", "count must not be negative"),
        ("monthly.csv", 3, "month", "month must be YYYY-MM"),
        ("monthly.csv", 8, "low_income_share", "value is not a number"),  # ","-file: no comma
        ("population.csv", 2, "population_1_5", "value is not a number"),
    }


def test_many_broken_rows_are_counted_not_all_listed(tmp_path: Path) -> None:
    district = tiny_district(n_kindergartens=60)  # 180 monthly rows
    folder = write_tiny(tmp_path / "data", district=district)
    monthly = pd.read_csv(folder / "monthly.csv", dtype=str, keep_default_na=False)
    monthly["staff_fte"] = "-1"
    monthly.to_csv(folder / "monthly.csv", index=False)
    problems = [p for p in problems_of(folder) if p.column == "staff_fte"]
    assert len(problems) == 51
    assert [p.row for p in problems[:50]] == list(range(2, 52))
    assert problems[-1].rule == "… and 130 more rows break the same rule: FTE must not be negative"


def test_gaps_stay_gaps_and_extra_columns_are_kept(folder: Path) -> None:
    monthly = pd.read_csv(folder / "monthly.csv", dtype=str, keep_default_na=False)
    monthly["class_score"] = "5.5"
    monthly["note"] = "fra HR"
    monthly.drop(index=4).to_csv(folder / "monthly.csv", index=False)  # K01 2023-07 missing
    district = read_district(folder)
    months = district.monthly.loc[district.monthly["kindergarten_id"] == "K01", "month"]
    assert [str(m) for m in months] == ["2023-06", "2023-08"]
    assert district.monthly["class_score"].eq(5.5).all()
    assert district.monthly["note"].eq("fra HR").all()


def test_ragged_csv_line_is_reported_with_its_line(folder: Path) -> None:
    lines = (folder / "monthly.csv").read_text().splitlines()
    lines[3] += ",extra,cells"
    (folder / "monthly.csv").write_text("\n".join(lines) + "\n")
    problem = only(problems_of(folder), "file cannot be read")
    assert problem.file == "monthly.csv"
    assert "line 4" in str(problem.value)


def test_binary_file_named_csv_is_reported_not_a_crash(folder: Path) -> None:
    (folder / "kindergartens.csv").write_bytes(bytes(range(256)) * 4)
    problems = problems_of(folder)
    assert {p.file for p in problems if p.severity == "error"} == {"kindergartens.csv"}


def test_a_renamed_target_is_named_with_what_the_engine_will_not_do(folder: Path) -> None:
    path = folder / "monthly.csv"
    pd.read_csv(path, dtype=str).rename(columns={"sick_leave_rate": "sykefravaer"}).to_csv(
        path, index=False
    )
    district = read_district(folder)  # a warning, not an error: validate still exits 0
    (warning,) = [w for w in district.warnings if w.column == "sick_leave_rate"]
    assert warning.severity == "warning" and warning.file == "monthly.csv"
    assert "optional column is missing" in warning.rule
    assert "no sick-leave forecast" in warning.rule
    assert "sykefravaer" in warning.rule and "--columns" in warning.rule


def test_a_target_without_values_is_named(folder: Path) -> None:
    path = folder / "monthly.csv"
    pd.read_csv(path, dtype=str).assign(staff_leavers="").to_csv(path, index=False)
    district = read_district(folder)
    (warning,) = [w for w in district.warnings if w.column == "staff_leavers"]
    assert warning.rule.startswith("optional column has no values: no staff-leavers forecast")
