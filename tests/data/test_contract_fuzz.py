"""Property-based fuzz of the data contract: a valid tiny data set with a few cells replaced by
hostile values (control characters, formulas, huge or non-finite numbers, far-future months,
blank text, mixed types), written as CSV, .xlsx, Parquet or DuckDB. Every generated table must
either be refused with a :class:`UserInputError` whose problems name the file (and the row and
column where there is one) — what the CLI turns into exit 2 without a traceback — or be accepted
with every row kept.

Two depths. Whole tables through ``read_district`` cost a few hundred milliseconds each (files
written and read, every rule checked), so ``make test`` runs ``BEMANNING_FUZZ_EXAMPLES`` of them
per format (default 20, a third for .xlsx); beneath them, thousands of generated columns of
hostile cells go through the contract's cell parser for every kind of column (a few
milliseconds each, ``BEMANNING_FUZZ_CELL_EXAMPLES``, default 2,000). A nightly run sets
``BEMANNING_FUZZ_PROFILE=nightly``: 1,000 tables per format (300 .xlsx) and 20,000 columns."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from contract_helpers import tiny_district, write_tiny
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.errors import UserInputError
from data.schemas import Kind
from data.validate import read_district
from data.value_parsing import parse_column

pytestmark = pytest.mark.slow
NIGHTLY = os.environ.get("BEMANNING_FUZZ_PROFILE", "") == "nightly"
EXAMPLES = int(os.environ.get("BEMANNING_FUZZ_EXAMPLES", "1000" if NIGHTLY else "20"))
CELL_EXAMPLES = int(os.environ.get("BEMANNING_FUZZ_CELL_EXAMPLES", "20000" if NIGHTLY else "2000"))
TEMPLATE = tiny_district()
TABLES = ("kindergartens", "monthly")

HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "\t",
        "=1+1",
        "=SUM(A1:A3)",
        "+47",
        "-",
        "@cmd",
        "1e300",
        "-1e300",
        "NaN",
        "inf",
        "9999-12",
        "2023-13",
        "0000-01",
        "3\x004",
        "\x00",
        "3\x1f",
        "١٢",
        "1_000",
        "12,5",
        "1 234,5",
        "'; drop table monthly; --",
        "<script>alert(1)</script>",
        "K00",
        "Bydel Gamle Oslo",
    ]
)
VALUES = st.one_of(
    HOSTILE,
    st.text(max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def mutations(draw: Any) -> list[tuple[str, int, str, str]]:
    """Up to four (table, row, column, new text) replacements."""
    out = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        table = draw(st.sampled_from(TABLES))
        frame = getattr(TEMPLATE, table)
        row = draw(st.integers(min_value=0, max_value=len(frame) - 1))
        column = draw(st.sampled_from(list(frame.columns)))
        out.append((table, row, str(column), draw(VALUES)))
    return out


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    text = frame.astype(object).map(lambda v: None if pd.isna(v) else str(v))
    return text


def _write(folder: Path, fmt: str, changes: list[tuple[str, int, str, str]]) -> Path:
    """The template with ``changes`` applied, in ``fmt``; returns what read_district takes."""
    path = write_tiny(folder, fmt, TEMPLATE)
    if fmt == "xlsx":
        from openpyxl import load_workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        for table in {c[0] for c in changes}:
            book = load_workbook(folder / f"{table}.xlsx")
            sheet = book.worksheets[0]
            header = [c.value for c in sheet[1]]
            for t, row, column, value in changes:
                if t == table:
                    # a worksheet cannot hold control characters: Excel writes them escaped
                    cell = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
                    sheet.cell(row=row + 2, column=header.index(column) + 1, value=cell or None)
            book.save(folder / f"{table}.xlsx")
        return path
    frames = {t: _as_text(getattr(TEMPLATE, t)) for t in TABLES}
    for table, row, column, value in changes:
        frames[table].loc[row, column] = value
    for table in {c[0] for c in changes}:
        frame = frames[table]
        if fmt == "csv":
            frame.to_csv(folder / f"{table}.csv", index=False)
        elif fmt == "parquet":
            frame.to_parquet(folder / f"{table}.parquet", index=False)
        else:
            import duckdb

            con = duckdb.connect(str(path))
            try:
                con.register("changed", frame)
                con.execute(f"drop table {table}")
                con.execute(f"create table {table} as select * from changed")
            finally:
                con.close()
    return path


def _check(fmt: str, changes: list[tuple[str, int, str, str]]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        path = _write(folder / "data", fmt, changes)
        try:
            district = read_district(path)
        except UserInputError as refused:
            errors = [p for p in refused.problems if p.severity == "error"]
            assert errors, f"refused without an error: {refused}"
            for problem in refused.problems:
                assert problem.file, problem
                text = str(problem)  # printable, as the CLI prints it
                assert problem.file in text
                if problem.row is not None:
                    table_rows = max(len(getattr(TEMPLATE, t)) for t in TABLES)
                    assert 1 <= problem.row <= table_rows + 1, problem
            for problem in errors:  # a change may break another table's rows: any table's file
                assert any(t in problem.file for t in (*TABLES, "population")), problem
            return
        assert len(district.kindergartens) == len(TEMPLATE.kindergartens)
        assert len(district.monthly) == len(TEMPLATE.monthly)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
@FUZZ
@given(changes=mutations())
def test_hostile_cells_are_refused_by_name_or_accepted_whole(
    fmt: str, changes: list[tuple[str, int, str, str]]
) -> None:
    _check(fmt, changes)


@settings(
    max_examples=max(EXAMPLES // 3, 10),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(changes=mutations())
def test_hostile_cells_in_xlsx_are_refused_by_name_or_accepted_whole(
    changes: list[tuple[str, int, str, str]],
) -> None:
    _check("xlsx", changes)


KINDS: tuple[Kind, ...] = ("id", "text", "count", "share", "fte", "month", "year")
CELLS = st.one_of(st.none(), VALUES, st.floats(allow_nan=True, allow_infinity=True))


@settings(
    max_examples=CELL_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(KINDS),
    cells=st.lists(CELLS, min_size=1, max_size=8),
    decimal_comma=st.booleans(),
)
def test_hostile_cells_are_parsed_or_flagged_never_raised(
    kind: Kind, cells: list[Any], decimal_comma: bool
) -> None:
    """Every present cell is either read as a value of its kind or flagged with a rule (which the
    validator turns into a named row and column); a missing cell stays missing; nothing raises."""
    column = pd.Series(cells, dtype=object, name="column")
    parsed = parse_column(column, kind, decimal_comma=decimal_comma)
    assert len(parsed.values) == len(cells)
    assert all(rule for _, rule in parsed.failures)
    missing = column.isna().to_numpy()
    read = parsed.values.notna().to_numpy()
    flagged = parsed.failed
    assert not (missing & (read | flagged)).any()  # never filled, never blamed
    if kind not in ("id", "text"):
        assert ((read | flagged) == ~missing).all()  # each present cell: a value or a rule
        assert not (read & flagged).any()
    if kind in ("count", "share", "fte", "year"):
        numbers = pd.to_numeric(parsed.values[read], errors="coerce").astype(float)
        assert np.isfinite(numbers).all()
