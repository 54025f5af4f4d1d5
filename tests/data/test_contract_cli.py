"""The data commands through the real ``bemanning`` app: exit code 2 with every problem named by
file, row and column on bad input, never a traceback; OK with counts on good input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from contract_helpers import edit_csv, tiny_district, write_tiny
from typer.testing import CliRunner

from data.contract import KNOWN_FUTURE_PREFIX, SIMULATED_LABEL
from serving.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(output.split())  # Rich wraps lines at the console width


@pytest.mark.parametrize("command", ["simulate", "validate", "features"])
def test_every_data_command_has_help(command: str) -> None:
    code, output = run(command, "--help")
    assert code == 0
    assert "Usage" in output


def test_validate_ok_prints_counts(tmp_path: Path) -> None:
    code, output = run("validate", str(write_tiny(tmp_path / "data")))
    assert code == 0
    assert "OK" in output
    assert "3 kindergartens, 3 months (2023-06 – 2023-08), 9 monthly rows" in output


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "data")
    edit_csv(folder / "monthly.csv", 4, "children_under3", "tolv")
    edit_csv(folder / "kindergartens.csv", 3, "capacity", "-5")
    code, output = run("validate", str(folder))
    assert code == 2
    assert "monthly.csv, row 4, column 'children_under3': value is not a number (found 'tolv')" in (
        output
    )
    assert "kindergartens.csv, row 3, column 'capacity': count must not be negative (found -5)" in (
        output
    )


def test_validate_shows_warnings_but_passes(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "data")
    edit_csv(folder / "monthly.csv", 9, "children_under3", "40")
    code, output = run("validate", str(folder))
    assert code == 0
    assert "monthly.csv, row 9" in output
    assert "children above capacity by more than 10 %" in output


def test_missing_data_path_exits_2(tmp_path: Path) -> None:
    code, output = run("validate", str(tmp_path / "nowhere"))
    assert code == 2
    assert "does not exist" in output


def test_missing_files_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, output = run("validate", str(tmp_path / "empty"))
    assert code == 2
    assert "kindergartens.*: required file is missing" in output
    assert "monthly.*: required file is missing" in output


def test_bad_column_mapping_exits_2(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[monthly]\n"Antall barn" = "children"\n', encoding="utf-8")
    code, output = run("validate", str(write_tiny(tmp_path / "data")), "--columns", str(mapping))
    assert code == 2
    assert "mapping.toml, table monthly, column 'Antall barn'" in output


def test_features_writes_parquet_and_counts_feature_kinds(tmp_path: Path) -> None:
    out = tmp_path / "features.parquet"
    code, output = run("features", str(write_tiny(tmp_path / "data")), "--out", str(out))
    assert code == 0, output
    table = pd.read_parquet(out)
    assert len(table) == 9
    known = sum(c.startswith(KNOWN_FUTURE_PREFIX) for c in table.columns)
    assert known > 0
    assert f"9 rows × {len(table.columns)} columns" in output
    assert f"{known} known-future features" in output


def test_features_refuses_bad_data_with_exit_2(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "data")
    edit_csv(folder / "monthly.csv", 2, "month", "juni")
    out = tmp_path / "features.parquet"
    code, output = run("features", str(folder), "--out", str(out))
    assert code == 2
    assert "monthly.csv, row 2, column 'month': month must be YYYY-MM" in output
    assert not out.exists()


def test_features_out_must_be_parquet(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path / "d")
    code, output = run("features", str(folder), "--out", str(tmp_path / "f.csv"))
    assert code == 2
    assert "must be a .parquet file" in output


def test_simulated_data_is_labelled(tmp_path: Path) -> None:
    district = tiny_district()
    district.simulated = True
    code, output = run("validate", str(write_tiny(tmp_path / "data", district=district)))
    assert code == 0
    assert SIMULATED_LABEL in output


def test_simulate_bad_month_exits_2(tmp_path: Path) -> None:
    code, output = run("simulate", str(tmp_path / "sim"), "--start", "2020-13")
    assert code == 2
    assert "--start: month must be YYYY-MM (found '2020-13')" in output
    code, output = run("simulate", str(tmp_path / "sim"), "--start", "2021-01", "--end", "2020-01")
    assert code == 2
    assert "--end is before --start" in output


@pytest.mark.parametrize(
    "args",
    [
        ("simulate", "{out}", "--process", "capacity", "--seed", "-1"),
        ("plan", "{out}", "--pool", "staff=3", "--seed", "-1"),
        ("tune", "{out}", "--seed", "-2"),
    ],
)
def test_a_negative_seed_exits_2_naming_the_option(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A seed below 0 is refused before any work (numpy would raise deep inside)."""
    code, output = run(*(a.format(out=tmp_path / "sim") for a in args))
    assert code == 2
    assert "Invalid value for '--seed'" in output
    assert not (tmp_path / "sim").exists()


def test_simulate_then_validate(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    code, output = run(
        "simulate",
        str(out),
        "--seed",
        "3",
        "--start",
        "2022-01",
        "--end",
        "2023-12",
        "--format",
        "parquet",
    )
    assert code == 0, output
    assert SIMULATED_LABEL in output
    assert (out / "monthly.parquet").exists()
    code, output = run("validate", str(out))
    assert code == 0, output
    assert SIMULATED_LABEL in output
    assert "24 months (2022-01 – 2023-12)" in output
