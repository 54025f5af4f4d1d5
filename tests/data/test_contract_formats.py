"""One reader for four formats: the same District back from CSV, Parquet, .xlsx and DuckDB, and
Norwegian spreadsheet exports (``;``, decimal commas, UTF-8 with BOM or Latin-1) read right."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from contract_helpers import only, problems_of, tiny_district, write_tiny

from data.contract import District
from data.csv_dialect import detect_dialect
from data.validate import read_district
from data.writers import write_district


def assert_same_district(got: District, expected: District) -> None:
    for table in ("kindergartens", "monthly", "population"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(expected, table))
    assert got.fingerprint() == expected.fingerprint()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx", "duckdb"])
def test_round_trip_gives_the_same_district(tmp_path: Path, fmt: str) -> None:
    expected = tiny_district()
    got = read_district(write_tiny(tmp_path / "data", fmt, expected))
    assert_same_district(got, expected)
    assert got.monthly["month"].dtype == pd.PeriodDtype("M")
    assert got.monthly["children_under3"].dtype == "int64"
    assert got.monthly["waiting_list"].dtype == "Int64"
    assert got.monthly["waiting_list"].isna().sum() == 3  # June is empty for all three
    assert got.kindergartens["area"].isna().sum() == 1


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx", "duckdb"])
def test_simulated_label_survives_every_format(tmp_path: Path, fmt: str) -> None:
    district = tiny_district()
    district.simulated = True
    assert read_district(write_tiny(tmp_path / "data", fmt, district)).simulated
    assert not read_district(write_tiny(tmp_path / "real", fmt)).simulated


def test_parquet_rows_are_counted_from_one(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "data", "parquet")
    monthly = pd.read_parquet(folder / "monthly.parquet")
    monthly.loc[2, "children_over3"] = -3  # the third data row
    monthly.to_parquet(folder / "monthly.parquet")
    problem = only(problems_of(folder), "count must not be negative")
    assert (problem.file, problem.row, problem.value) == ("monthly.parquet", 3, -3)


def test_duckdb_rows_are_counted_from_one(tmp_path: Path) -> None:
    import duckdb

    database = write_tiny(tmp_path / "data", "duckdb")
    con = duckdb.connect(str(database))
    con.execute(
        "update monthly set sick_leave_rate = 1.2 where kindergarten_id = 'K00' "
        "and month = '2023-07'"
    )
    con.close()
    problem = only(problems_of(database), "share must be between 0 and 1")
    assert (problem.file, problem.row, problem.column) == (
        "district.duckdb:monthly",
        2,
        "sick_leave_rate",
    )


def test_duckdb_with_real_date_columns(tmp_path: Path) -> None:
    """A lakehouse table often stores the month as a DATE on the first of the month."""
    import duckdb

    database = write_tiny(tmp_path / "data", "duckdb")
    con = duckdb.connect(str(database))
    con.execute(
        "create table m2 as select * replace (cast(month || '-01' as date) as month) from monthly"
    )
    con.execute("drop table monthly")
    con.execute("alter table m2 rename to monthly")
    con.close()
    assert_same_district(read_district(database), tiny_district())


def norwegian_csv(folder: Path, encoding: str) -> Path:
    """Rewrite the tiny data set as a Norwegian Excel export: ';' and decimal commas."""
    folder.mkdir(parents=True, exist_ok=True)
    district = tiny_district()
    assert district.population is not None
    for table, frame in (
        ("kindergartens", district.kindergartens),
        ("monthly", district.monthly),
        ("population", district.population),
    ):
        text = frame.to_csv(index=False, sep=";", decimal=",")
        (folder / f"{table}.csv").write_bytes(text.encode(encoding))
    return folder


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "latin-1", "utf-8"])
def test_norwegian_export(tmp_path: Path, encoding: str) -> None:
    folder = norwegian_csv(tmp_path / encoding, encoding)
    dialect = detect_dialect(folder / "monthly.csv")
    assert (dialect.delimiter, dialect.decimal_comma) == (";", True)
    got = read_district(folder)
    assert_same_district(got, tiny_district())
    assert got.kindergartens["name"].tolist()[:2] == ["Kampen Ærlig 0", "Tøyen barnehage 1"]
    assert got.kindergartens["area"].iloc[0] == "Grønland"
    assert got.monthly["sick_leave_rate"].iloc[0] == pytest.approx(0.083)


def test_bom_does_not_stick_to_the_first_header(tmp_path: Path) -> None:
    folder = norwegian_csv(tmp_path / "bom", "utf-8-sig")
    assert (folder / "monthly.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_district(folder).monthly.columns[0] == "kindergarten_id"


def test_thousands_space_and_decimal_comma_in_a_norwegian_export(tmp_path: Path) -> None:
    folder = norwegian_csv(tmp_path / "nb", "cp1252")
    text = (folder / "population.csv").read_text(encoding="cp1252")
    (folder / "population.csv").write_text(text.replace("3210", "3\u00a0210"), encoding="cp1252")
    population = read_district(folder).population
    assert population is not None
    assert 3210 in population["population_1_5"].tolist()


def test_decimal_comma_error_names_the_value_as_written(tmp_path: Path) -> None:
    folder = norwegian_csv(tmp_path / "bad", "utf-8-sig")
    text = (folder / "monthly.csv").read_text(encoding="utf-8-sig").splitlines()
    cells = text[2].split(";")
    cells[12] = "8,3 %"  # sick_leave_rate written as a percent with a sign
    text[2] = ";".join(cells)
    (folder / "monthly.csv").write_text("\n".join(text) + "\n", encoding="utf-8-sig")
    problem = only(problems_of(folder), "value is not a number")
    assert (problem.row, problem.column, problem.value) == (3, "sick_leave_rate", "8,3 %")


def test_tab_separated_export(tmp_path: Path) -> None:
    folder = tmp_path / "tsv"
    folder.mkdir()
    district = tiny_district()
    for table in ("kindergartens", "monthly"):
        frame = getattr(district, table)
        (folder / f"{table}.csv").write_text(frame.to_csv(index=False, sep="\t"))
    got = read_district(folder)
    pd.testing.assert_frame_equal(got.monthly, district.monthly)


def test_xlsx_from_a_person_dates_and_numbers_as_cells(tmp_path: Path) -> None:
    """Typed by hand in Excel: months as dates, ids as numbers, a blank line between blocks."""
    from openpyxl import Workbook

    folder = write_tiny(tmp_path / "data", "xlsx")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        [
            "kindergarten_id",
            "month",
            "children_under3",
            "children_over3",
            "staff_fte",
            "pedagogue_fte",
        ]
    )
    sheet.append([7, dt.datetime(2023, 6, 1), 10, 30, 10.5, 4])
    sheet.append([None, None, None, None, None, None])
    sheet.append([7, dt.datetime(2023, 7, 1), 10, 30.5, 10.5, 4])
    book.save(folder / "monthly.xlsx")
    kindergartens = pd.read_excel(folder / "kindergartens.xlsx", dtype=str)
    kindergartens.loc[0, "kindergarten_id"] = "7"
    kindergartens.to_excel(folder / "kindergartens.xlsx", index=False)
    problem = only(problems_of(folder), "count must be a whole number")
    # The blank line is still counted: the second data line is spreadsheet row 4.
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "monthly.xlsx",
        4,
        "children_over3",
        "30.5",
    )


def test_write_district_returns_the_files_it_wrote(tmp_path: Path) -> None:
    written = write_district(tiny_district(), tmp_path / "out", "parquet")
    assert sorted(p.name for p in written) == [
        "kindergartens.parquet",
        "monthly.parquet",
        "population.parquet",
    ]
    assert all(p.exists() for p in written)
    (database,) = write_district(tiny_district(), tmp_path / "db" / "mine.duckdb", "duckdb")
    assert database.name == "mine.duckdb"
    with pytest.raises(ValueError, match="not one of"):
        write_district(tiny_district(), tmp_path / "x", "json")  # type: ignore[arg-type]


def test_csv_keeps_every_bit_of_a_float(tmp_path: Path) -> None:
    district = tiny_district()
    district.monthly["sick_leave_rate"] = 0.083 + 0.02  # 0.10300000000000001
    got = read_district(write_tiny(tmp_path / "data", "csv", district))
    assert (got.monthly["sick_leave_rate"] == 0.083 + 0.02).all()
    assert got.fingerprint() == district.fingerprint()


def test_folder_holding_only_a_duckdb_file_is_read_from_it(tmp_path: Path) -> None:
    database = write_tiny(tmp_path / "data", "duckdb")
    assert database.parent == tmp_path / "data"
    assert_same_district(read_district(tmp_path / "data"), tiny_district())


def test_pandera_schemas_accept_the_validated_tables_and_reject_breaks() -> None:
    import pandera.pandas as pa

    from data.schemas import KINDERGARTENS_SCHEMA, MONTHLY_SCHEMA, POPULATION_SCHEMA

    district = tiny_district()
    assert district.population is not None
    KINDERGARTENS_SCHEMA.validate(district.kindergartens)
    MONTHLY_SCHEMA.validate(district.monthly)
    POPULATION_SCHEMA.validate(district.population)
    broken = district.monthly.copy()
    broken.loc[3, "low_income_share"] = 1.25
    broken = pd.concat([broken, broken.iloc[[0]]], ignore_index=True)
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        MONTHLY_SCHEMA.validate(broken, lazy=True)
    checks = set(caught.value.failure_cases["check"])
    assert "share must be between 0 and 1" in checks
    assert "multiple_fields_uniqueness" in checks


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_extra_true_false_columns_read_back_as_booleans(tmp_path: Path, fmt: str) -> None:
    district = tiny_district()
    district.monthly["simulated"] = True
    district.monthly["checked"] = [True, False, None] * 3
    got = read_district(write_tiny(tmp_path / "data", fmt, district))
    assert got.monthly["simulated"].dtype == bool
    assert got.monthly["simulated"].all()
    assert got.monthly["checked"].tolist()[:3] == [True, False, pd.NA]


def test_parquet_column_of_lists_is_a_wrong_type_not_a_crash(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "data", "parquet")
    monthly = pd.read_parquet(folder / "monthly.parquet")
    monthly["children_under3"] = [[12, 1]] * len(monthly)
    monthly["month"] = pd.Series([{"year": 2023}] * len(monthly), dtype=object)
    monthly["note"] = [["kept"]] * len(monthly)
    monthly.to_parquet(folder / "monthly.parquet")
    problems = [p for p in problems_of(folder) if p.rule == "value has the wrong type"]
    assert {(p.file, p.column) for p in problems} == {
        ("monthly.parquet", "children_under3"),
        ("monthly.parquet", "month"),
    }


def test_parquet_month_stored_as_dates(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "data", "parquet")
    monthly = pd.read_parquet(folder / "monthly.parquet")
    monthly["month"] = [dt.date(int(m[:4]), int(m[5:]), 1) for m in monthly["month"]]
    monthly.to_parquet(folder / "monthly.parquet")
    assert_same_district(read_district(folder), tiny_district())


def test_xlsx_text_cells_with_decimal_commas(tmp_path: Path) -> None:
    """A Norwegian spreadsheet where numbers were typed as text: '0,25' is a quarter."""
    folder = write_tiny(tmp_path / "data", "xlsx")
    monthly = pd.read_excel(folder / "monthly.xlsx", dtype=str)
    monthly["minority_language_share"] = "0,25"
    monthly.to_excel(folder / "monthly.xlsx", index=False)
    got = read_district(folder)
    assert (got.monthly["minority_language_share"] == 0.25).all()
