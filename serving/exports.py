"""Exports for Power BI and the plan's comparison table: flat tables as CSV or Parquet with
stable machine column names (docs/POWERBI.md), and the plan summary turned into rows of
measures. The Excel workbook for planners is :mod:`serving.workbook`. Exports are *internal*:
decision counts below 5 are always shown as "<5".

CSV cells of text that starts with ``= + - @``, a tab or a carriage return get a leading ``'``,
so a spreadsheet opening the file never reads them as a formula (CSV injection); numbers stay
numbers."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from data.contract import SIMULATED_LABEL
from serving import words
from serving.app.privacy import suppress_frame

TABLE_FORMATS = ("csv", "parquet")
#: What a spreadsheet may read as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Units of the plan summary's measures, by column-name prefix (units as in
#: :func:`serving.formatting.format_in_unit`; the weighted objective is in weighted FTE-months).
_SUMMARY_UNITS = (
    ("cost_nok", "nok"),
    ("extra_", "fte"),
    ("unmet_", "fte_months"),
    ("weighted_unmet", "fte_months"),
    ("breach_months_", "kindergarten_months"),
)


@dataclass(frozen=True)
class SummaryTable:
    """A plan's comparison with other allocations, one row per measure and one column per
    allocation (named in words), so it fits a page however many allocations are compared."""

    allocations: list[str]
    rows: list[tuple[str, list[Any], str]] = field(default_factory=list)


def _summary_unit(column: str) -> str:
    for prefix, unit in _SUMMARY_UNITS:
        if column.startswith(prefix):
            return unit
    return "number"


def summary_rows(language: str, summary: Sequence[Mapping[str, Any]]) -> SummaryTable:
    """The stored summary (one record per allocation) turned round: measures as rows, labelled
    in ``language``; allocations as columns, named in words ("Fordelingsnøkkel")."""
    if not summary:
        return SummaryTable([])
    names = [words.word(language, words.ALLOCATION, r.get("allocation")) for r in summary]
    columns = [c for c in summary[0] if c != "allocation"]
    return SummaryTable(
        names,
        [
            (words.column_word(language, c), [r.get(c) for r in summary], _summary_unit(c))
            for c in columns
        ],
    )


def csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would take for a formula, with a leading ``'``; anything else
    (numbers included) as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _text_cell(value: Any) -> str | None:
    """One cell of a mixed column as text (Parquet needs one type per column)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def table_bytes(frame: pd.DataFrame, fmt: str, *, simulated: bool) -> bytes:
    """One flat table for Power BI, privacy-suppressed, with a ``data_label`` column saying
    "SIMULATED …" when it is."""
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"format must be one of {', '.join(TABLE_FORMATS)}, not {fmt!r}")
    out = suppress_frame(frame)
    out.insert(0, "data_label", SIMULATED_LABEL if simulated else "real")
    for column in out.columns:
        if isinstance(out[column].dtype, pd.PeriodDtype):
            out[column] = out[column].astype(str)
        elif out[column].dtype == object:
            out[column] = out[column].map(_text_cell)
    if fmt == "csv":
        for column in out.columns:
            if out[column].dtype == object:
                out[column] = out[column].map(csv_safe)
        return out.to_csv(index=False).encode("utf-8")
    buffer = io.BytesIO()
    out.to_parquet(buffer, index=False)
    return buffer.getvalue()
