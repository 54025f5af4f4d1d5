"""Read a data set and check it against the contract, reporting every problem at once.

:func:`read_district` is the one door through which data enters the engine: a data folder (CSV,
Parquet or .xlsx files) or a DuckDB file in, a validated :class:`~data.contract.District` out —
or a :class:`~data.errors.DataContractError` listing every broken rule with file, row, column
and the value found.

Row numbers in problems are the user's: in CSV and .xlsx the header is row 1 and the first data
row is row 2; in Parquet and DuckDB tables data rows are counted from 1 in stored order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data.column_mapping import apply_column_mapping, load_column_mapping
from data.contract import TARGETS, District
from data.contract_checks import (
    key_duplicate_problems,
    mask_problems,
    monthly_vs_kindergartens,
    opened_closed_problems,
    schema_problems,
)
from data.errors import DataContractError, Problem, UserInputError
from data.lineage import read_lineage
from data.plausibility import plausibility_problems
from data.quality import CATALOGUE, check_quality
from data.readers import RawTable, read_source_file, read_tables
from data.schemas import (
    EMPTY_FILE,
    MISSING_COLUMN,
    OPTIONAL_COLUMN_USES,
    TABLE_COLUMNS,
    TABLE_KEYS,
    WRONG_TYPE,
    ColumnSpec,
    optional_column_rule,
    table_schema,
)
from data.value_parsing import as_numbers, parse_column

__all__ = ["read_district", "validate_district"]


def read_district(path: Path, *, column_mapping: Path | None = None) -> District:
    """Read and validate a data folder or DuckDB file.

    ``column_mapping`` is an optional TOML file renaming the export's headers to the contract's
    (see :mod:`data.column_mapping`). Raises :class:`~data.errors.UserInputError` when
    ``path`` does not exist and :class:`~data.errors.DataContractError` with every problem
    when the data break the contract; soft rules end up in ``district.warnings``.
    """
    from data.sources import is_raw_folder

    if is_raw_folder(Path(path)):
        from data.assemble import assemble_folder

        if column_mapping is not None:
            raise UserInputError(
                f"{path} holds sources.toml: its [source.columns] tables rename the headers, "
                "so --columns does not apply"
            )
        return assemble_folder(Path(path)).district
    problems: list[Problem] = []
    mapping: dict[str, dict[str, str]] = {}
    if column_mapping is not None:
        mapping, problems = load_column_mapping(column_mapping)
    result = read_tables(Path(path))
    problems += result.problems
    for raw in result.tables.values():
        problems += apply_column_mapping(raw, mapping)
    quality = _quality_file(Path(path))
    if quality is not None:
        result.tables["quality"] = quality
    district = validate_tables(
        result.tables, problems, simulated=result.simulated, source=result.source
    )
    if Path(path).is_dir():
        district.lineage = read_lineage(Path(path))
    return district


def _quality_file(path: Path) -> RawTable | None:
    """The optional ``quality`` table of a tidy folder (CSV, Parquet or .xlsx)."""
    if not path.is_dir():
        return None
    found = [p for s in (".csv", ".parquet", ".xlsx") if (p := path / f"quality{s}").exists()]
    if not found:
        return None
    raw, problems = read_source_file("quality", found[0], label=found[0].name)
    if raw is None:
        raise DataContractError(problems)
    return raw


def validate_district(district: District) -> District:
    """Check an in-memory data set (e.g. a simulated one) by the same rules as files on disk.

    Returns a new District in the engine's canonical form (dtypes, sorting). Problems name the
    table as ``<table> (in memory)`` and count rows from 1.
    """
    frames = {
        "kindergartens": district.kindergartens,
        "monthly": district.monthly,
        "population": district.population,
        "quality": district.quality,
    }
    tables = {
        name: RawTable(
            name, frame.reset_index(drop=True), f"{name} (in memory)", np.arange(1, len(frame) + 1)
        )
        for name, frame in frames.items()
        if frame is not None
    }
    validated = validate_tables(tables, [], simulated=district.simulated, source=district.source)
    validated.extra = dict(district.extra)
    validated.lineage = district.lineage
    return validated


def validate_tables(
    tables: dict[str, RawTable], problems: list[Problem], *, simulated: bool, source: str
) -> District:
    """Parse and check raw tables; return the District or raise with ``problems`` plus all found."""
    problems = list(problems)
    typed: dict[str, pd.DataFrame] = {}
    usable: dict[str, bool] = {}
    for name, raw in tables.items():
        if name == "quality":
            continue  # checked against the catalogue below, once the kindergartens are known
        frame, table_problems, complete = _parse_table(raw)
        problems += table_problems
        if frame is not None:
            typed[name] = frame
            usable[name] = complete

    quality = None
    if "quality" in tables and "kindergartens" in typed:
        known = pd.Index(typed["kindergartens"]["kindergarten_id"].dropna().astype(str))
        quality, quality_problems = check_quality(tables["quality"], known, CATALOGUE)
        problems += quality_problems
    if usable.get("kindergartens"):
        problems += opened_closed_problems(tables["kindergartens"], typed["kindergartens"])
        if usable.get("monthly"):
            problems += monthly_vs_kindergartens(
                tables["monthly"], typed["monthly"], typed["kindergartens"]
            )
    problems += plausibility_problems(tables, typed)

    if any(p.severity == "error" for p in problems):
        raise DataContractError(problems)
    return District(
        kindergartens=_canonical(typed["kindergartens"], "kindergartens"),
        monthly=_canonical(typed["monthly"], "monthly"),
        population=_canonical(typed["population"], "population") if "population" in typed else None,
        simulated=simulated,
        source=source,
        warnings=[p for p in problems if p.severity == "warning"],
        quality=quality,
    )


def _parse_table(raw: RawTable) -> tuple[pd.DataFrame | None, list[Problem], bool]:
    """Typed frame (or None when nothing can be checked), its problems, and whether every
    required column was there (cross-table checks need them)."""
    specs = TABLE_COLUMNS[raw.table]
    frame = raw.frame
    if len(frame) == 0:
        return None, [Problem(file=raw.file, rule=EMPTY_FILE)], False
    problems = [
        Problem(file=raw.file, rule=MISSING_COLUMN, column=spec.name)
        for spec in specs
        if spec.required and spec.name not in frame.columns
    ]
    missing = {p.column for p in problems}
    n_rows = len(frame)
    columns: dict[str, pd.Series] = {}
    failed: dict[str, np.ndarray] = {}
    for spec in specs:
        if spec.name in frame.columns:
            try:
                parsed = parse_column(frame[spec.name], spec.kind, decimal_comma=raw.decimal_comma)
            except (TypeError, ValueError, OverflowError):  # lists, structs: not cells at all
                problems.append(_wrong_type(raw, spec, frame[spec.name]))
                columns[spec.name] = _empty_column(spec, n_rows)
                failed[spec.name] = np.ones(n_rows, dtype=bool)
                continue
            for mask, rule in parsed.failures:
                problems += mask_problems(raw, mask, spec.name, rule, frame[spec.name])
            columns[spec.name] = parsed.values
            failed[spec.name] = parsed.failed
        else:
            columns[spec.name] = _empty_column(spec, n_rows)
            # A missing required column is reported once, not again on every row.
            failed[spec.name] = np.full(n_rows, spec.required)
    contract_names = {spec.name for spec in specs}
    for name in frame.columns:
        if name not in contract_names:
            columns[str(name)] = _extra_column(frame[name], decimal_comma=raw.decimal_comma)
    typed = pd.DataFrame(columns)

    problems += schema_problems(raw, typed, table_schema(raw.table, check_key=False), failed)
    problems += _optional_column_warnings(raw, typed, contract_names)
    key, duplicate_rule = TABLE_KEYS[raw.table]
    if not missing.intersection(key):
        problems += key_duplicate_problems(raw, typed, key, duplicate_rule, failed)
    return typed, problems, not missing


def _optional_column_warnings(
    raw: RawTable, typed: pd.DataFrame, contract_names: set[str]
) -> list[Problem]:
    """A warning for each optional column the engine uses that is absent, or is a forecast
    target with no values (skipped like an absent one), saying what the engine will not do;
    headers outside the contract are named beside it (a renamed column is the usual cause,
    mapped with ``--columns``)."""
    unknown = [str(c) for c in raw.frame.columns if c not in contract_names]
    hint = (
        f"; columns not in the contract: {', '.join(unknown)} (rename them with --columns)"
        if unknown
        else ""
    )
    warnings = []
    for column in OPTIONAL_COLUMN_USES.get(raw.table, {}):
        absent = column not in raw.frame.columns
        if absent or (column in TARGETS and typed[column].isna().all()):
            rule = optional_column_rule(raw.table, column, empty=not absent)
            warnings.append(
                Problem(
                    file=raw.file,
                    rule=rule + (hint if absent else ""),
                    column=column,
                    severity="warning",
                )
            )
    return warnings


def _wrong_type(raw: RawTable, spec: ColumnSpec, values: pd.Series) -> Problem:
    """A whole column of values that are not single cells (e.g. lists in a Parquet column)."""
    first = values.dropna()
    found = type(first.iloc[0]).__name__ if len(first) else str(values.dtype)
    return Problem(file=raw.file, rule=WRONG_TYPE, column=spec.name, value=found)


def _empty_column(spec: ColumnSpec, n_rows: int) -> pd.Series:
    """An absent optional column: all missing (never zeros), with the column's dtype."""
    if spec.kind in ("count", "year"):
        return pd.Series(pd.array([pd.NA] * n_rows, dtype="Int64"))
    if spec.kind in ("share", "fte"):
        return pd.Series(np.full(n_rows, np.nan))
    if spec.kind == "month":
        return pd.Series(pd.PeriodIndex([pd.NaT] * n_rows, freq="M"))
    return pd.Series([None] * n_rows, dtype=object)


def _extra_column(values: pd.Series, *, decimal_comma: bool) -> pd.Series:
    """Extra columns are kept; text that is wholly numeric becomes numbers (quality scores), and
    text that is wholly true/false becomes booleans (so "False" is never read as truthy text)."""
    values = values.reset_index(drop=True)
    if values.dtype != object or values.notna().sum() == 0:
        return values
    try:
        codes, distinct = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    except TypeError:  # lists or mappings in the cells: kept exactly as read
        return values
    words = {str(v).strip().lower() for v in distinct}
    if words <= {"true", "false"}:
        flags = np.array([str(v).strip().lower() == "true" for v in distinct] + [False])
        result = pd.array(flags[codes], dtype="boolean")
        result[codes < 0] = pd.NA
        return pd.Series(result if (codes < 0).any() else flags[codes], name=values.name)
    numbers, not_number = as_numbers(values, decimal_comma=decimal_comma)
    if not_number.any():
        return values
    present = ~np.isnan(numbers)
    if np.all(numbers[present] == np.floor(numbers[present])) and np.all(
        np.abs(numbers[present]) < 2.0**53
    ):
        whole = pd.array(np.where(present, numbers, 0).astype(np.int64), dtype="Int64")
        whole[~present] = pd.NA
        return pd.Series(whole, name=values.name)
    return pd.Series(numbers, name=values.name)


def _canonical(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Required counts as int64, optional ones as nullable Int64; sorted by the table's key."""
    out = frame.copy()
    for spec in TABLE_COLUMNS[table]:
        if spec.kind in ("count", "year") and spec.required:
            out[spec.name] = out[spec.name].astype("int64")
    key, _ = TABLE_KEYS[table]
    out = out.sort_values(list(key), kind="stable", na_position="first")
    return out.reset_index(drop=True)
