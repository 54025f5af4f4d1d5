"""Exports for planners and Power BI: a plan as an Excel workbook (a header sheet with the
parameters, model version and data fingerprint, then the lines), and flat tables as CSV or
Parquet. Exports are *internal*: decision counts below 5 are always shown as "<5"."""

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
#: Units of the plan summary's measures, by column-name pattern (the rest are FTE-months).
_SUMMARY_UNITS = (("cost_nok", "nok"), ("extra_", "fte"), ("breach_months_", "number"))


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


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def plan_header_rows(
    plan_info: Mapping[str, Any], header: Mapping[str, Any], simulated: bool
) -> list[tuple[str, Any]]:
    """The header sheet, one (field, value) per row: who/when/what, then every parameter."""
    rows: list[tuple[str, Any]] = []
    if simulated:
        rows.append(("data", SIMULATED_LABEL))
    rows += [(key, _cell(value)) for key, value in plan_info.items()]
    request = header.get("request") or {}
    rows += [(f"parameter: {k}", _cell(v)) for k, v in request.items()]
    rows += [(f"engine: {k}", _cell(v)) for k, v in header.items() if k != "request"]
    return rows


def plan_workbook(
    *,
    plan_info: Mapping[str, Any],
    header: Mapping[str, Any],
    lines: pd.DataFrame,
    summary: Sequence[Mapping[str, Any]],
    pins: pd.DataFrame,
    simulated: bool,
) -> bytes:
    """An .xlsx: sheet ``header`` (parameters, model version, data fingerprint), ``lines``,
    ``summary`` (plan vs proportional key vs no pool) and ``pins`` (overrides with comments)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "header"
    sheet.append(["field", "value"])
    for key, value in plan_header_rows(plan_info, header, simulated):
        sheet.append([key, value])
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 60
    for name, frame in (
        ("lines", suppress_frame(lines)),
        ("summary", pd.DataFrame(list(summary))),
        ("pins", pins),
    ):
        ws = book.create_sheet(name)
        if simulated:
            ws.append([SIMULATED_LABEL])
        ws.append([str(c) for c in frame.columns])
        for record in frame.itertuples(index=False):
            ws.append([_cell(v) for v in record])
    for ws in book.worksheets:
        for cell in ws[2 if simulated and ws.title != "header" else 1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


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
        return out.to_csv(index=False).encode("utf-8")
    buffer = io.BytesIO()
    out.to_parquet(buffer, index=False)
    return buffer.getvalue()
