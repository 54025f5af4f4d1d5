"""The data contract (docs/CONTRACT.md) as code: one column list per input table, the stable
rule messages every problem report uses, and pandera schemas that check typed tables.

The column lists drive the reader (which columns must be there, how to parse each one from text);
the pandera schemas check the parsed values (ranges, empties, unique keys). Tests and users match
the rule messages exactly, so change them only on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
import pandera.pandas as pa

#: How a column is parsed from text and which rules apply to it.
#: id/text: strings; count: non-negative whole number; share: number in [0, 1];
#: fte: non-negative number (full-time equivalents); month: ``YYYY-MM``; year: whole number.
Kind = Literal["id", "text", "count", "share", "fte", "month", "year"]


# ---- rule messages (stable: tests match them exactly) -------------------------------------------
MISSING_FILE = "required file is missing (looked for .csv, .parquet, .xlsx)"
MISSING_TABLE = "required table is missing from the DuckDB file"
MORE_THAN_ONE_FILE = "more than one file holds this table; keep one"
UNREADABLE_FILE = "file cannot be read"
EMPTY_FILE = "file has no data rows"
MISSING_COLUMN = "required column is missing"
DUPLICATE_COLUMN = "column name appears more than once"
REQUIRED_EMPTY = "required value is empty"
NOT_A_NUMBER = "value is not a number"
NOT_WHOLE_NUMBER = "count must be a whole number"
NEGATIVE_COUNT = "count must not be negative"
SHARE_OUT_OF_RANGE = "share must be between 0 and 1"
NEGATIVE_FTE = "FTE must not be negative"
BAD_MONTH = "month must be YYYY-MM"
YEAR_NOT_INTEGER = "year must be a whole number"
DUPLICATE_KINDERGARTEN = "duplicate kindergarten_id"
DUPLICATE_MONTH = "duplicate (kindergarten_id, month)"
DUPLICATE_POPULATION = "duplicate (district, area, year)"
UNKNOWN_KINDERGARTEN = "kindergarten_id is not in the kindergartens table"
OUTSIDE_OPEN_MONTHS = "month is outside the kindergarten's opened/closed months"
CLOSED_BEFORE_OPENED = "closed is before opened"
OVER_CAPACITY = "children above capacity by more than 10 % (2·under-3 + over-3 > 1.1·capacity)"
WRONG_TYPE = "value has the wrong type"
MAPPING_UNKNOWN_TABLE = "column mapping names an unknown table"
MAPPING_UNKNOWN_TARGET = "column mapping renames to a column the contract does not have"
MAPPING_CLASH = "column mapping gives two columns the same name"
MAPPING_UNREADABLE = "column mapping file cannot be read"

OPTIONAL_MISSING = "optional column is missing"
OPTIONAL_EMPTY = "optional column has no values"

#: What the engine does without each optional column the features, forecasts or plans use: the
#: warning ``validate`` prints when one is absent (exit 0), so a renamed header does not silently
#: drop a forecast target.
OPTIONAL_COLUMN_USES: dict[str, dict[str, str]] = {
    "kindergartens": {
        "area": "no per-area figures in the report; area-level features use the district",
    },
    "monthly": {
        "waiting_list": "no waiting-list features for the forecasts",
        "vedtak_31": "no § 31 forecast and no § 31 hours in the needs or the plan",
        "vedtak_37": "no § 37 forecast and no § 37 hours in the needs or the plan",
        "minority_language_share": "no minority-language features or weighting in the plan",
        "low_income_share": "no low-income features, no equity weighting in the plan and no "
        "gains by low-income area in the report",
        "resource_pedagogue_fte": "resource pedagogues already in place are taken as 0",
        "sick_leave_rate": "no sick-leave forecast; staff on hand is taken as contracted FTE "
        "(no absence)",
        "staff_leavers": "no staff-leavers forecast and no turnover features",
    },
}


def optional_column_rule(table: str, column: str, *, empty: bool) -> str:
    """The warning for an optional column that is absent (or has no values): what is lost."""
    use = OPTIONAL_COLUMN_USES.get(table, {}).get(column, "")
    base = OPTIONAL_EMPTY if empty else OPTIONAL_MISSING
    return f"{base}: {use}" if use else base


#: Problems listed per (file, rule, column) before the rest are summed up in one line.
MAX_LISTED_PER_RULE = 50


def more_rows_rule(rule: str, n_more: int) -> str:
    """The closing line when a rule is broken by more rows than are listed."""
    return f"… and {n_more} more rows break the same rule: {rule}"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of an input table: its name, how it is parsed, whether it must be there."""

    name: str
    kind: Kind
    required: bool


KINDERGARTENS_COLUMNS = (
    ColumnSpec("kindergarten_id", "id", True),
    ColumnSpec("name", "text", True),
    ColumnSpec("district", "text", True),
    ColumnSpec("area", "text", False),
    ColumnSpec("capacity", "count", True),
    ColumnSpec("opened", "month", False),
    ColumnSpec("closed", "month", False),
)

MONTHLY_COLUMNS = (
    ColumnSpec("kindergarten_id", "id", True),
    ColumnSpec("month", "month", True),
    ColumnSpec("children_under3", "count", True),
    ColumnSpec("children_over3", "count", True),
    ColumnSpec("waiting_list", "count", False),
    ColumnSpec("vedtak_31", "count", False),
    ColumnSpec("vedtak_37", "count", False),
    ColumnSpec("minority_language_share", "share", False),
    ColumnSpec("low_income_share", "share", False),
    ColumnSpec("staff_fte", "fte", True),
    ColumnSpec("pedagogue_fte", "fte", True),
    ColumnSpec("resource_pedagogue_fte", "fte", False),
    ColumnSpec("sick_leave_rate", "share", False),
    ColumnSpec("staff_leavers", "count", False),
)

POPULATION_COLUMNS = (
    ColumnSpec("district", "text", True),
    ColumnSpec("area", "text", False),
    ColumnSpec("year", "year", True),
    ColumnSpec("population_1_5", "count", True),
    *(ColumnSpec(f"population_{age}", "count", False) for age in range(6)),
)

TABLE_COLUMNS: dict[str, tuple[ColumnSpec, ...]] = {
    "kindergartens": KINDERGARTENS_COLUMNS,
    "monthly": MONTHLY_COLUMNS,
    "population": POPULATION_COLUMNS,
}

#: Key columns per table (no two rows may share them) and the message when two do.
TABLE_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "kindergartens": (("kindergarten_id",), DUPLICATE_KINDERGARTEN),
    "monthly": (("kindergarten_id", "month"), DUPLICATE_MONTH),
    "population": (("district", "area", "year"), DUPLICATE_POPULATION),
}


def _pandera_column(spec: ColumnSpec) -> pa.Column:
    nullable = not spec.required
    if spec.kind in ("id", "text"):
        return pa.Column(object, nullable=nullable, required=spec.required)
    if spec.kind in ("count", "year"):
        checks = [pa.Check.ge(0, error=NEGATIVE_COUNT)] if spec.kind == "count" else []
        return pa.Column("Int64", checks, nullable=nullable, required=spec.required, coerce=True)
    if spec.kind == "share":
        checks = [pa.Check.in_range(0.0, 1.0, error=SHARE_OUT_OF_RANGE)]
        return pa.Column(float, checks, nullable=nullable, required=spec.required, coerce=True)
    if spec.kind == "fte":
        checks = [pa.Check.ge(0.0, error=NEGATIVE_FTE)]
        return pa.Column(float, checks, nullable=nullable, required=spec.required, coerce=True)
    return pa.Column(pd.PeriodDtype("M"), nullable=nullable, required=spec.required)


def table_schema(table: str, *, check_key: bool = True) -> pa.DataFrameSchema:
    """The pandera schema of one parsed table: dtypes, empties, ranges and the unique key.

    Extra columns are allowed (``strict=False``) and kept. Duplicated keys are reported on every
    row after the first one that holds the key. ``check_key=False`` leaves the key out (used when
    a key column is missing, so its absence is not also reported as thousands of duplicates).
    """
    columns = TABLE_COLUMNS[table]
    key, _ = TABLE_KEYS[table]
    return pa.DataFrameSchema(
        {spec.name: _pandera_column(spec) for spec in columns},
        strict=False,
        unique=list(key) if check_key else None,
        report_duplicates="exclude_first",
        name=table,
    )


def schema_messages(table: str) -> dict[str, str]:
    """pandera's names for built-in checks → this contract's rule messages."""
    return {
        "not_nullable": REQUIRED_EMPTY,
        "field_uniqueness": TABLE_KEYS[table][1],
        "multiple_fields_uniqueness": TABLE_KEYS[table][1],
    }


KINDERGARTENS_SCHEMA = table_schema("kindergartens")
MONTHLY_SCHEMA = table_schema("monthly")
POPULATION_SCHEMA = table_schema("population")
