"""One reader for every input format: a folder of CSV, Parquet or .xlsx files named after the
contract's tables, or one DuckDB file holding tables of those names.

Values are read as text where the format stores text (CSV, text cells), and as stored where the
format is typed (Parquet, DuckDB, numeric cells become their exact text), so that a bad value can be
reported exactly as the user wrote it. Parsing and the contract's rules live in
:mod:`data.validate`.

Row numbers are counted as the user sees them: in CSV and .xlsx files the header is row 1, so the
first data row is row 2 (blank lines and quoted line breaks counted like a spreadsheet does); in
Parquet and DuckDB tables, data rows are counted from 1 in stored order.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from data.contract import REQUIRED_TABLES, TABLES
from data.csv_dialect import detect_dialect
from data.errors import Problem, UserInputError
from data.schemas import (
    DUPLICATE_COLUMN,
    MISSING_FILE,
    MISSING_TABLE,
    MORE_THAN_ONE_FILE,
    UNREADABLE_FILE,
)

FILE_SUFFIXES = (".csv", ".parquet", ".xlsx")
DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")
#: Stands in for NUL while pandas parses a CSV (a private-use character no export contains).
NUL_STAND_IN = "\ue000"
#: Blanks around a cell's text that are dropped; control characters are kept, to be reported.
BLANKS = " \t\r\n\u00a0"
#: A formula cell of an .xlsx file that holds no stored result (never calculated, e.g. written
#: by a script): its value is unknown, so it is named instead of read as empty.
FORMULA_WITHOUT_VALUE = (
    "cell holds a formula without a stored value (open and save the file in Excel, or paste "
    "the values)"
)
#: A file (folder) or table (DuckDB) whose presence marks the data set as simulated.
SIMULATED_MARKER_FILE = "SIMULATED.md"
SIMULATED_MARKER_TABLE = "simulated_label"
#: The optional long table of quality indicators (CONTRACT.md, quality).
QUALITY_TABLE = "quality"


@dataclass
class RawTable:
    """One table as read, before parsing: values as text (or as stored, for typed formats)."""

    table: str
    frame: pd.DataFrame
    #: The file as named in problem reports, e.g. ``monthly.csv`` or ``district.duckdb:monthly``.
    file: str
    #: The user's row number of each frame row (header = row 1 in CSV/xlsx).
    rows: np.ndarray
    #: True when numbers may use a decimal comma (``;``-separated CSV, spreadsheet text cells).
    decimal_comma: bool = False


@dataclass
class ReadResult:
    """Everything the reader found: the tables it could read and the problems it met."""

    tables: dict[str, RawTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    simulated: bool = False
    source: str = ""


def read_tables(path: Path) -> ReadResult:
    """Read a data folder or a DuckDB file; raise :class:`UserInputError` if ``path`` is neither."""
    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{path} does not exist: give a data folder or a DuckDB file")
    if path.is_dir():
        return _read_folder(path)
    if path.suffix.lower() in DUCKDB_SUFFIXES:
        return _read_duckdb(path)
    raise UserInputError(
        f"{path} is neither a folder nor a DuckDB file ({', '.join(DUCKDB_SUFFIXES)}): give the "
        f"folder holding kindergartens.*, monthly.* and population.*"
    )


# ---- folder of files ----------------------------------------------------------------------------
def _read_folder(folder: Path) -> ReadResult:
    has_tables = any((folder / f"{t}{s}").exists() for t in TABLES for s in FILE_SUFFIXES)
    databases = [p for p in folder.iterdir() if p.suffix.lower() in DUCKDB_SUFFIXES]
    if not has_tables and len(databases) == 1:
        # `simulate --format duckdb OUT` writes OUT/district.duckdb; `validate OUT` should find it.
        return _read_duckdb(databases[0])
    result = ReadResult(source=str(folder), simulated=(folder / SIMULATED_MARKER_FILE).exists())
    for table in TABLES:
        candidates = [folder / f"{table}{s}" for s in FILE_SUFFIXES]
        found = [p for p in candidates if p.exists()]
        if not found:
            if table in REQUIRED_TABLES:
                result.problems.append(Problem(file=f"{table}.*", rule=MISSING_FILE))
            continue
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            result.problems.append(Problem(file=f"{table}.*", rule=MORE_THAN_ONE_FILE, value=names))
            continue
        file = found[0]
        try:
            raw, problems = _read_file(table, file)
        except Exception as exc:  # any parser's failure is the user's broken file, reported
            result.problems.append(_unreadable(file.name, exc))
            continue
        result.problems.extend(problems)
        result.tables[table] = raw
    return result


def _unreadable(file: str, exc: Exception) -> Problem:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Problem(file=file, rule=UNREADABLE_FILE, value=reason[:300])


def _read_file(
    table: str, path: Path, *, sheet: str | None = None, label: str | None = None
) -> tuple[RawTable, list[Problem]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw, problems = _read_csv(table, path)
    elif suffix == ".xlsx":
        raw, problems = _read_xlsx(table, path, sheet=sheet)
    else:
        frame = _blank_text_as_missing(pd.read_parquet(path))
        rows = np.arange(1, len(frame) + 1)
        raw, problems = RawTable(table, frame.reset_index(drop=True), path.name, rows), []
    if label is not None:  # a raw export is named by its path inside the folder
        raw.file = label
        problems = [replace(p, file=label) for p in problems]
    return raw, problems


def read_source_file(
    table: str, path: Path, *, label: str, sheet: str | None = None
) -> tuple[RawTable | None, list[Problem]]:
    """One raw export (CSV in any dialect, .xlsx sheet, Parquet) as text, named ``label`` in
    problems; an unreadable file is a problem, not an exception."""
    if path.suffix.lower() not in FILE_SUFFIXES:
        return None, [
            Problem(file=label, rule=UNREADABLE_FILE, value="not .csv, .xlsx or .parquet")
        ]
    try:
        return _read_file(table, path, sheet=sheet, label=label)
    except Exception as exc:  # any parser's failure is the user's broken file, reported
        return None, [_unreadable(label, exc)]


def _read_csv(table: str, path: Path) -> tuple[RawTable, list[Problem]]:
    if path.stat().st_size == 0:
        return RawTable(table, pd.DataFrame(), path.name, np.zeros(0, dtype=int)), []
    dialect = detect_dialect(path)
    source: Path | io.StringIO = path
    data = path.read_bytes()
    text = data.decode(dialect.encoding, errors="replace") if b"\x00" in data else ""
    if "\x00" in text:
        # pandas' C parser ends a cell at NUL ("3\x004" would read as 3): hide NUL from it and
        # put it back afterwards, so the cell is reported as the user wrote it
        source = io.StringIO(text.replace("\x00", NUL_STAND_IN))
    frame = pd.read_csv(
        source,
        sep=dialect.delimiter,
        encoding=dialect.encoding,
        dtype=str,
        keep_default_na=False,
        na_values=[],
        skip_blank_lines=False,
        engine="c",
    )
    if source is not path:
        frame = frame.map(lambda v: v.replace(NUL_STAND_IN, "\x00") if isinstance(v, str) else v)
        frame.columns = [str(c).replace(NUL_STAND_IN, "\x00") for c in frame.columns]
    header = _csv_header(path, dialect.encoding, dialect.delimiter)
    raw = _raw_from_text(table, frame, path.name, first_row=2, decimal_comma=dialect.decimal_comma)
    return raw, _duplicate_headers(path.name, header)


def _csv_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    import csv

    with path.open(encoding=encoding, newline="") as handle:
        return [name.strip() for name in next(csv.reader(handle, delimiter=delimiter), [])]


def _duplicate_headers(file: str, header: list[str]) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for name in header:
        if name in seen and name:
            problems.append(Problem(file=file, rule=DUPLICATE_COLUMN, row=1, column=name))
        seen.add(name)
    return problems


def _raw_from_text(
    table: str, frame: pd.DataFrame, file: str, *, first_row: int, decimal_comma: bool
) -> RawTable:
    """Strip text cells, turn empty cells into missing, drop wholly empty lines (keeping the row
    numbers of the rest, so reports still point at the right line)."""
    frame = frame.rename(columns=lambda c: str(c).strip())
    cleaned = {}
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object:
            values = pd.Series(_stripped(values.to_numpy()), name=column, index=frame.index)
        cleaned[column] = values
    frame = pd.DataFrame(cleaned, index=frame.index) if cleaned else frame
    rows = np.arange(first_row, first_row + len(frame))
    if len(frame.columns):
        keep = frame.notna().any(axis=1).to_numpy()
        if not keep.all():
            frame, rows = frame.loc[keep], rows[keep]
    return RawTable(table, frame.reset_index(drop=True), file, rows, decimal_comma)


def _stripped(cells: np.ndarray) -> np.ndarray:
    """Text cells without surrounding blanks, empty ones as None; each distinct text is stripped
    once (a column of 660,000 cells holds a few thousand distinct texts)."""
    codes, distinct = pd.factorize(cells, use_na_sentinel=True)
    clean = np.array(
        [(v.strip(BLANKS) or None) if isinstance(v, str) else v for v in distinct] + [None],
        dtype=object,
    )
    return clean[codes]  # code -1 (missing) takes the trailing None


def _blank_text_as_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells of a typed table (Parquet, DuckDB) stripped, and blank ones missing — as a CSV
    cell is read — so an empty optional value means the same in every format."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            objects = values.astype(object).to_numpy()
            if any(isinstance(v, str) for v in objects):
                try:
                    stripped = _stripped(objects)
                except TypeError:  # lists or structs beside text: reported as a wrong type later
                    continue
                frame[column] = pd.Series(stripped, index=frame.index, name=column)
    return frame


def _cell_text(value: object) -> str | None:
    """An .xlsx cell as the text a user sees (numbers exactly, a first-of-month date as YYYY-MM)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.day == 1 and value.time() == dt.time(0):
            return value.strftime("%Y-%m")
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m") if value.day == 1 else value.isoformat()
    return str(value)


def _read_xlsx(
    table: str, path: Path, *, sheet: str | None = None
) -> tuple[RawTable, list[Problem]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ValueError(f"no sheet named {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        name = sheet if sheet is not None else table
        worksheet = book[name] if name in book.sheetnames else book.worksheets[0]
        rows = worksheet.iter_rows(values_only=True)
        header_cells = next(rows, ())
        header = [_cell_text(c) or "" for c in header_cells]
        while header and header[-1] == "":
            header.pop()
        width = len(header)
        data = [[_cell_text(c) for c in row[:width]] for row in rows]
        title = worksheet.title
    finally:
        book.close()
    data = [row + [None] * (width - len(row)) for row in data]
    names = [name.strip() or f"(unnamed column {i + 1})" for i, name in enumerate(header)]
    frame = pd.DataFrame(data, columns=pd.Index(range(width)), dtype=object)
    problems = _duplicate_headers(path.name, names)
    problems += _formulas_without_values(path, title, data, names)
    frame.columns = pd.Index(_unique_names(names))
    raw = _raw_from_text(table, frame, path.name, first_row=2, decimal_comma=True)
    return raw, problems


def _has_formulas(path: Path) -> bool:
    """Whether any sheet of the workbook holds a formula (``<f>`` in its XML): only then is the
    file read a second time, for the formulas themselves."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as sheet:
                    while chunk := sheet.read(1 << 20):
                        if b"<f>" in chunk or b"<f " in chunk:
                            return True
    return False


def _formulas_without_values(
    path: Path, title: str, values: list[list[str | None]], names: list[str]
) -> list[Problem]:
    """Every formula cell whose stored value is missing: read as data it would look empty."""
    if not _has_formulas(path):
        return []
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=False)
    problems = []
    try:
        rows = book[title].iter_rows(values_only=True)
        next(rows, None)  # the header
        for index, (row, seen) in enumerate(zip(rows, values, strict=False)):
            for column, (cell, value) in enumerate(zip(row, seen, strict=False)):
                if value is None and isinstance(cell, str) and cell.startswith("="):
                    problems.append(
                        Problem(
                            file=path.name,
                            rule=FORMULA_WITHOUT_VALUE,
                            row=index + 2,
                            column=names[column],
                            value=cell[:100],
                        )
                    )
    finally:
        book.close()
    return problems


def _unique_names(names: list[str]) -> list[str]:
    """Keep the first of duplicated header names; later ones get ``.1``, ``.2`` like pandas."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        count = seen.get(name, 0)
        unique.append(name if count == 0 else f"{name}.{count}")
        seen[name] = count + 1
    return unique


# ---- DuckDB file ---------------------------------------------------------------------------------
def _read_duckdb(path: Path) -> ReadResult:
    import duckdb

    result = ReadResult(source=str(path))
    try:
        con = duckdb.connect(str(path), read_only=True)
    except Exception as exc:  # not a DuckDB file, locked, or a newer format
        result.problems.append(_unreadable(path.name, exc))
        return result
    try:
        names = {
            str(name).lower(): str(name)
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
            ).fetchall()
        }
        result.simulated = SIMULATED_MARKER_TABLE in names
        for table in TABLES:
            label = f"{path.name}:{table}"
            if table not in names:
                if table in REQUIRED_TABLES:
                    result.problems.append(Problem(file=label, rule=MISSING_TABLE))
                continue
            try:
                frame = _blank_text_as_missing(con.execute(f'select * from "{names[table]}"').df())
            except Exception as exc:  # an unreadable column type, reported as such
                result.problems.append(_unreadable(label, exc))
                continue
            rows = np.arange(1, len(frame) + 1)
            result.tables[table] = RawTable(table, frame, label, rows)
        if QUALITY_TABLE in names:  # optional: the quality indicators, checked with the rest
            frame = con.execute(f'select * from "{names[QUALITY_TABLE]}"').df()
            label = f"{path.name}:{QUALITY_TABLE}"
            rows = np.arange(1, len(frame) + 1)
            result.tables[QUALITY_TABLE] = RawTable(QUALITY_TABLE, frame, label, rows)
    finally:
        con.close()
    return result
