"""Raw exports (``sources.toml``): assembly, loose names, crosswalk, periods and each problem kind
with its exact message (CONTRACT.md, "Raw exports")."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from data.assemble import SOURCES_DISAGREE, assemble_folder
from data.errors import DataContractError
from data.keys import NameIndex, normalise_name
from data.validate import read_district, validate_district
from serving.cli import app
from simulate import simulate_district
from simulate.raw import coarse_form, write_raw_exports

KINDERGARTENS = """Barnehage-ID,Navn,Bydel,Godkjente plasser
K1,Tøyen barnehage,Bydel Gamle Oslo,60
K2,Kampen-Vålerenga barnehage,Bydel Gamle Oslo,80
K3,Grønland barnehage,Bydel Gamle Oslo,40
"""
CROSSWALK = """kindergarten_id,hr
K1,HR1
K2,HR2
K3,HR3
"""
CHILDREN = """Barnehage;Måned;Under 3;Over 3
TØYEN BHG.;01.2024;10;20
Tøyen  bhg;02.2024;11;20
Kampen Vålerenga;01.2024;12;30
kampen-vålerenga barnehage;februar 2024;12;31
Grønland barnehage;2024-01;5;15
Grønland barnehage;2024-02-01;5;16
"""
HR = """Enhet;Periode;Årsverk;Pedagoger;Sluttet
HR1;2024-01;6,5;2,0;1
HR1;2024-02;6,5;2,0;0
HR2;2024-01;8,0;3,0;0
HR2;2024-02;8,5;3,0;2
HR3;2024-01;4,0;1,0;0
HR3;2024-02;4,0;1,0;0
"""
SICK = """Enhet;Kvartal;Sykefravær %
HR1;2024K1;5,25
HR2;2024K1;7,5
HR3;2024K1;4
"""
TOML = """district = "Bydel Gamle Oslo"
[crosswalk]
file = "kobling.csv"

[[source]]
file = "barnehager.csv"
table = "kindergartens"
key = "Barnehage-ID"
[source.columns]
"Navn" = "name"
"Bydel" = "district"
"Godkjente plasser" = "capacity"

[[source]]
file = "barn.csv"
table = "monthly"
key = "Barnehage"
key_scheme = "name"
period = "Måned"
[source.columns]
"Under 3" = "children_under3"
"Over 3" = "children_over3"

[[source]]
file = "hr.csv"
table = "monthly"
key = "Enhet"
key_scheme = "hr"
period = "Periode"
[source.columns]
"Årsverk" = "staff_fte"
"Pedagoger" = "pedagogue_fte"
"Sluttet" = "staff_leavers"

[[source]]
file = "syk.csv"
table = "monthly"
key = "Enhet"
key_scheme = "hr"
period = "Kvartal"
every = "quarter"
published_after_months = 1
[source.columns]
"Sykefravær %" = { to = "sick_leave_rate", scale = 0.01 }
"""


def raw_folder(tmp_path: Path, **replace: str) -> Path:
    """A small raw folder; ``replace`` swaps a file's text (``barn_csv="..."``)."""
    files = {
        "barnehager.csv": KINDERGARTENS,
        "kobling.csv": CROSSWALK,
        "barn.csv": CHILDREN,
        "hr.csv": HR,
        "syk.csv": SICK,
        "sources.toml": TOML,
    }
    for name, text in replace.items():
        files[name.replace("_", ".", 1)] = text
    folder = tmp_path / "raw"
    folder.mkdir()
    for name, text in files.items():
        encoding = "latin-1" if name in ("hr.csv", "syk.csv") else "utf-8"
        (folder / name).write_text(text, encoding=encoding)
    return folder


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(DataContractError) as caught:
        assemble_folder(folder)
    return [str(p) for p in caught.value.errors]


def test_small_raw_folder_assembles(tmp_path: Path) -> None:
    district = read_district(raw_folder(tmp_path))
    monthly = district.monthly.set_index(["kindergarten_id", district.monthly["month"].astype(str)])
    assert len(monthly) == 6
    assert monthly.loc[("K1", "2024-02"), "children_under3"] == 11
    assert monthly.loc[("K2", "2024-02"), "children_over3"] == 31
    assert monthly.loc[("K2", "2024-02"), "staff_fte"] == 8.5
    # the quarter's value holds for each of its months, "5,25" % read exactly as 0.0525
    assert monthly.loc[("K1", "2024-01"), "sick_leave_rate"] == 0.0525
    assert monthly.loc[("K1", "2024-02"), "sick_leave_rate"] == 0.0525
    lineage = district.lineage
    assert lineage is not None
    sick = lineage[lineage["column"] == "sick_leave_rate"].iloc[0]
    assert (sick["source_file"], sick["every"], sick["published_after_months"]) == (
        "syk.csv",
        "quarter",
        1,
    )
    assert len(sick["fingerprint"]) == 16


@pytest.mark.parametrize(
    "written",
    ["TØYEN BHG.", "Tøyen  bhg", "tøyen barnehage", " Tøyen Barnehage ", "Tøyen bhg."],
)
def test_loose_names_match(written: str) -> None:
    index = NameIndex(pd.Series(["K1", "K2"]), pd.Series(["Tøyen barnehage", "Kampen-Vålerenga"]))
    assert index.lookup(written)[0] == "K1"
    assert index.lookup("Kampen Vålerenga bhg")[0] == "K2"
    assert normalise_name("Kampen-Vålerenga") == normalise_name("KAMPEN VÅLERENGA BHG.")


def test_name_matching_none_and_several(tmp_path: Path) -> None:
    kindergartens = KINDERGARTENS + "K4,Tøyen bhg.,Bydel Gamle Oslo,30\n"
    crosswalk = CROSSWALK + "K4,HR4\n"
    children = CHILDREN + "Tøyen;03.2024;1;1\nTøyn barnehage;01.2024;1;2\n"
    problems = problems_of(
        raw_folder(tmp_path, barnehager_csv=kindergartens, kobling_csv=crosswalk, barn_csv=children)
    )
    several = (
        "error: barn.csv, row 2, column 'Barnehage': name matches more than one kindergarten "
        "(found \"'TØYEN BHG.' could be: Tøyen barnehage (K1); Tøyen bhg. (K4)\")"
    )
    none = (
        "error: barn.csv, row 9, column 'Barnehage': name matches no kindergarten "
        "(found \"'Tøyn barnehage'; nearest: Tøyen barnehage (K1); Tøyen bhg. (K4)\")"
    )
    assert several in problems
    assert none in problems


def test_bad_period_label(tmp_path: Path) -> None:
    children = CHILDREN.replace("01.2024;10", "13.2024;10")
    assert problems_of(raw_folder(tmp_path, barn_csv=children)) == [
        "error: barn.csv, row 2, column 'Måned': period label cannot be read as a month "
        "(found '13.2024')"
    ]


def test_period_read_as_number(tmp_path: Path) -> None:
    children = CHILDREN.replace("01.2024;10", "1.2024;10")
    assert problems_of(raw_folder(tmp_path, barn_csv=children)) == [
        "error: barn.csv, row 2, column 'Måned': period was read as a number "
        "(store the period column as text) (found '1.2024')"
    ]


def test_flow_coarser_than_monthly(tmp_path: Path) -> None:
    toml = TOML.replace('"Sykefravær %" = {', '"Sluttet" = "staff_leavers"\n"Sykefravær %" = {')
    sick = SICK.replace("Sykefravær %", "Sykefravær %;Sluttet").replace("\n", ";1\n")
    sick = sick.replace("Sykefravær %;Sluttet;1", "Sykefravær %;Sluttet")
    assert problems_of(raw_folder(tmp_path, sources_toml=toml, syk_csv=sick)) == [
        "error: syk.csv, column 'Sluttet': a flow must come monthly, not coarser (found 'quarter')"
    ]


def test_two_sources_disagree(tmp_path: Path) -> None:
    toml = TOML.replace(
        '"Pedagoger" = "pedagogue_fte"',
        '"Pedagoger" = "pedagogue_fte"\n"Under 3" = "children_under3"',
    )
    hr = """Enhet;Periode;Årsverk;Pedagoger;Sluttet;Under 3
HR1;2024-01;6,5;2,0;1;10
HR1;2024-02;6,5;2,0;0;12
HR2;2024-01;8,0;3,0;0;12
HR2;2024-02;8,5;3,0;2;12
HR3;2024-01;4,0;1,0;0;5
HR3;2024-02;4,0;1,0;0;5
"""
    assert problems_of(raw_folder(tmp_path, sources_toml=toml, hr_csv=hr)) == [
        f"error: hr.csv, row 3, column 'Under 3': {SOURCES_DISAGREE} "
        "(found '12 here, 11 in barn.csv row 3')"
    ]


def test_crosswalk_code_missing_and_used_twice(tmp_path: Path) -> None:
    crosswalk = "kindergarten_id,hr\nK1,HR1\nK2,HR1\nK3,\n"
    problems = problems_of(raw_folder(tmp_path, kobling_csv=crosswalk))
    assert problems[:2] == [
        f"error: kobling.csv, row {row}, column 'hr': crosswalk code is used for more than one "
        "kindergarten (found 'HR1')"
        for row in (2, 3)
    ]
    assert "error: hr.csv, row 6, column 'Enhet': code is not in the crosswalk (found 'HR3')" in (
        problems
    )


def test_bad_values_name_source_file_row_and_header(tmp_path: Path) -> None:
    hr = HR.replace("HR2;2024-01;8,0", "HR2;2024-01;åtte")
    assert problems_of(raw_folder(tmp_path, hr_csv=hr)) == [
        "error: hr.csv, row 4, column 'Årsverk': value is not a number (found 'åtte')"
    ]


def test_cli_assemble_and_validate_raw_folder(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = raw_folder(tmp_path)
    result = runner.invoke(app, ["assemble", str(folder), "--out", str(tmp_path / "clean")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "clean" / "lineage.csv").exists()
    again = read_district(tmp_path / "clean")
    assert again.lineage is not None and len(again.lineage) == 9
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    (folder / "barn.csv").write_text(CHILDREN.replace("01.2024;10", "13.2024;10"))
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 2
    assert "period label cannot be read as a month" in result.output


def test_simulated_raw_form_assembles_to_its_tidy_form(tmp_path: Path) -> None:
    sim = simulate_district(
        "district",
        seed=3,
        n_kindergartens=6,
        start=pd.Period("2022-01", "M"),
        end=pd.Period("2024-06", "M"),
    )
    write_raw_exports(sim.district, tmp_path / "raw")
    (tmp_path / "raw" / "SIMULATED.md").write_text("simulated")
    got = read_district(tmp_path / "raw")
    expected = validate_district(coarse_form(sim.district))
    assert got.simulated
    for table in ("kindergartens", "monthly", "population"):
        want = getattr(expected, table)
        have = getattr(got, table)
        columns = [c for c in want.columns if c in have.columns]
        assert set(have.columns) <= set(want.columns)
        pd.testing.assert_frame_equal(have[columns], want[columns], check_dtype=True)
    assert got.quality is not None and expected.quality is not None
    pd.testing.assert_frame_equal(got.quality, expected.quality)
    # coarse columns hold one value per period
    quarters = got.monthly.groupby(
        ["kindergarten_id", got.monthly["month"].dt.quarter, got.monthly["month"].dt.year]
    )
    assert (quarters["sick_leave_rate"].nunique() == 1).all()


SURVEY_SOURCE = """
[[source]]
file = "foreldre.csv"
table = "quality"
key = "Barnehage"
key_scheme = "name"
period = "År"
every = "year"
published_after_months = 2
[source.columns]
"Alt i alt" = "parent_survey_overall"
"Egen skår" = "own_score"

[indicator.own_score]
label = "Egen skår"
source = "Bydelens egen undersøkelse"
min = 0
max = 10
"""


def test_quality_source_checked_against_each_indicators_scale(tmp_path: Path) -> None:
    survey = "Barnehage,År,Alt i alt,Egen skår\nTøyen bhg,2023,4.5,9\nGrønland,2023,6,11\n"
    folder = raw_folder(tmp_path, sources_toml=TOML + SURVEY_SOURCE, foreldre_csv=survey)
    assert problems_of(folder) == [
        "error: foreldre.csv, row 3, column 'Alt i alt': value is outside the indicator's scale "
        "(1–5) (found '6')",
        "error: foreldre.csv, row 3, column 'Egen skår': value is outside the indicator's scale "
        "(0–10) (found '11')",
    ]
    (folder / "foreldre.csv").write_text(survey.replace(",6,11", ",3.5,7"))
    quality = read_district(folder).quality
    assert quality is not None
    assert quality["month"].astype(str).unique().tolist() == ["2023-12"]
    assert sorted(quality["indicator"].unique()) == ["own_score", "parent_survey_overall"]


def test_tidy_quality_table_unknown_indicator_and_scale(tmp_path: Path) -> None:
    runner = CliRunner()
    clean = tmp_path / "clean"
    assert (
        runner.invoke(app, ["assemble", str(raw_folder(tmp_path)), "--out", str(clean)]).exit_code
        == 0
    )
    (clean / "quality.csv").write_text(
        "kindergarten_id,month,indicator,value\nK1,2024-01,hse_incidents,2\n"
        "K1,2024-01,smiles,3\nK2,2024-01,class_emotional_support,8\n"
    )
    with pytest.raises(DataContractError) as caught:
        read_district(clean)
    assert [str(p) for p in caught.value.errors] == [
        "error: quality.csv, row 3, column 'indicator': indicator is not in the catalogue "
        "(found 'smiles')",
        "error: quality.csv, row 4, column 'value': value is outside the indicator's scale "
        "(found '8')",
    ]
