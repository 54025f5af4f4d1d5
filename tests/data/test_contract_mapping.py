"""``--columns mapping.toml``: a real system's Norwegian headers renamed to the contract's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from contract_helpers import only, problems_of, tiny_district, write_tiny

from data.validate import read_district

NORWEGIAN = {
    "kindergartens": {
        "kindergarten_id": "Barnehage-ID",
        "name": "Barnehage",
        "capacity": "Plasser",
    },
    "monthly": {
        "kindergarten_id": "Barnehage-ID",
        "month": "Måned",
        "children_under3": "Antall barn under 3 år",
        "children_over3": "Antall barn over 3 år",
        "sick_leave_rate": "Sykefravær",
    },
}

MAPPING = """
[kindergartens]
"Barnehage-ID" = "kindergarten_id"
"Barnehage" = "name"
"Plasser" = "capacity"

[monthly]
"Barnehage-ID" = "kindergarten_id"
"Måned" = "month"
"Antall barn under 3 år" = "children_under3"
"Antall barn over 3 år" = "children_over3"
"Sykefravær" = "sick_leave_rate"
"Header no file has" = "waiting_list"
"""


def norwegian_folder(tmp_path: Path) -> Path:
    folder = write_tiny(tmp_path / "data")
    for table, renames in NORWEGIAN.items():
        path = folder / f"{table}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.rename(columns=renames).to_csv(path, index=False, sep=";", encoding="utf-8-sig")
    return folder


def write_mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_norwegian_headers_without_a_mapping_are_missing_columns(tmp_path: Path) -> None:
    problems = problems_of(norwegian_folder(tmp_path))
    missing = {(p.file, p.column) for p in problems if p.rule == "required column is missing"}
    assert ("monthly.csv", "children_under3") in missing
    assert ("kindergartens.csv", "capacity") in missing
    assert len(missing) == 7  # sick_leave_rate is optional: without a mapping it is absent


def test_mapping_renames_to_the_contract(tmp_path: Path) -> None:
    folder = norwegian_folder(tmp_path)
    district = read_district(folder, column_mapping=write_mapping(tmp_path, MAPPING))
    expected = tiny_district()
    pd.testing.assert_frame_equal(district.monthly, expected.monthly)
    pd.testing.assert_frame_equal(district.kindergartens, expected.kindergartens)


def test_mapping_to_an_unknown_column(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, MAPPING + '"Antall ansatte" = "staff_count"\n')
    problems = problems_of(norwegian_folder(tmp_path), column_mapping=mapping)
    problem = only(problems, "column mapping renames to a column the contract does not have")
    assert (problem.file, problem.column, problem.value) == (
        "mapping.toml, table monthly",
        "Antall ansatte",
        "staff_count",
    )


def test_mapping_two_headers_to_one_column(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, MAPPING + '"Barn u3" = "children_under3"\n')
    problems = problems_of(norwegian_folder(tmp_path), column_mapping=mapping)
    problem = only(problems, "column mapping gives two columns the same name")
    assert problem.column == "children_under3"
    assert problem.value == "'Antall barn under 3 år' and 'Barn u3'"


def test_mapping_onto_a_column_the_file_already_has(tmp_path: Path) -> None:
    folder = norwegian_folder(tmp_path)
    path = folder / "monthly.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=";", encoding="utf-8-sig")
    frame["waiting_list"] = "1"
    frame["Venteliste"] = "2"
    frame.to_csv(path, index=False, sep=";")
    text = MAPPING.replace('"Header no file has"', '"Venteliste"')
    mapping = write_mapping(tmp_path, text)
    problem = only(
        problems_of(folder, column_mapping=mapping),
        "column mapping gives two columns the same name",
    )
    assert (problem.file, problem.column) == ("monthly.csv", "waiting_list")


def test_mapping_for_an_unknown_table(tmp_path: Path) -> None:
    mapping = write_mapping(tmp_path, MAPPING + '[staff]\n"Navn" = "name"\n')
    problem = only(
        problems_of(norwegian_folder(tmp_path), column_mapping=mapping),
        "column mapping names an unknown table",
    )
    assert problem.value == "staff"


@pytest.mark.parametrize("text", ['[monthly\n"a" = "b"', "not toml at all = = ="])
def test_mapping_that_is_not_toml(tmp_path: Path, text: str) -> None:
    problems = problems_of(norwegian_folder(tmp_path), column_mapping=write_mapping(tmp_path, text))
    problem = only(problems, "column mapping file cannot be read")
    assert problem.file == "mapping.toml"
