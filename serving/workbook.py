"""A plan as an Excel workbook a planner opens and reads: a header sheet of readable key/value
rows (the same rows as the plan page, :mod:`serving.plan_header`), then the lines, the
comparison with other allocations, the pins and the audit trail, each on its own sheet.

Every sheet: a title row (saying when the data are simulated), a bold header row in the chosen
language, frozen below it, with an auto-filter; columns as wide as their contents; FTE with one
decimal, shares as percentages, NOK as kroner, moments as dates — numbers stay numbers. Text
that starts like a formula (``= + - @``, tab, CR) is stored as text, never as a formula.
Exports are *internal*: decision counts below 5 are shown as "<5".
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from serving import formatting, words
from serving.app.line_words import explanation_text
from serving.app.privacy import suppress_frame
from serving.exports import FORMULA_STARTS, csv_safe, summary_rows
from serving.i18n import N_, gettext
from serving.plan_header import plan_header_rows

MIN_WIDTH, MAX_WIDTH, WIDE_TEXT = 8, 60, 90

SHEETS = {
    "header": N_("Plan"),
    "lines": N_("Lines"),
    "summary": N_("Comparison"),
    "pins": N_("Pins"),
    "audit": N_("Audit trail"),
}


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, unit and values (one per row)."""

    header: str
    unit: str
    values: list[Any]


def _plain(value: Any) -> Any:
    """A cell value Excel can hold: NaN as empty, moments as Oslo wall-clock time (Excel has
    no time zones), anything else as it is."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return formatting.in_oslo(value).replace(tzinfo=None)
    return value


def _set(cell: Cell, value: Any, unit: str, language: str) -> None:
    value = _plain(value)
    cell.value = value
    if isinstance(value, str):
        if value.startswith(FORMULA_STARTS):
            cell.data_type = "s"  # openpyxl would store "=…" as a formula
            cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
        return
    if value is not None:
        cell.number_format = formatting.excel_number_format(unit, language)


def _text_length(value: Any, unit: str, language: str) -> int:
    if value is None:
        return 0
    if unit == "when":
        return 16
    if isinstance(value, str):
        return max(len(part) for part in value.split("\n"))
    return len(formatting.format_in_unit(value, unit, language))


def write_sheet(sheet: Worksheet, title: str, columns: Sequence[Column], language: str) -> None:
    """Title row, header row (bold, frozen, filtered), then the values, typed and formatted."""
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=12)
    header_row = 2
    for j, column in enumerate(columns, start=1):
        cell = sheet.cell(row=header_row, column=j, value=column.header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    n_rows = max((len(c.values) for c in columns), default=0)
    for j, column in enumerate(columns, start=1):
        for i, value in enumerate(column.values):
            _set(sheet.cell(row=header_row + 1 + i, column=j), value, column.unit, language)
        longest = max(
            [len(w) for w in column.header.split()]
            + [_text_length(_plain(v), column.unit, language) for v in column.values],
            default=MIN_WIDTH,
        )
        width = min(max(longest + 2, MIN_WIDTH), MAX_WIDTH)
        if longest > MAX_WIDTH:  # long text wraps in a wide column instead of running on
            width = WIDE_TEXT
            for i in range(n_rows):
                sheet.cell(row=header_row + 1 + i, column=j).alignment = Alignment(
                    wrap_text=True, vertical="top"
                )
        sheet.column_dimensions[get_column_letter(j)].width = width
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    if columns:
        last = get_column_letter(len(columns))
        sheet.auto_filter.ref = f"A{header_row}:{last}{header_row + max(n_rows, 1)}"


def _title(language: str, plan_info: Mapping[str, Any], header: Mapping[str, Any]) -> str:
    return gettext(
        language,
        N_("Plan for %(district)s, %(period)s, version %(version)s"),
        district=words.place_name(language, plan_info.get("district", "")),
        period=header.get("period", ""),
        version=plan_info.get("version", ""),
    )


def _yes_no(language: str, value: Any) -> str:
    return gettext(language, N_("yes")) if bool(value) else gettext(language, N_("no"))


#: The lines sheet: machine column → unit (headers from :mod:`serving.words`).
LINE_COLUMNS = (
    ("kindergarten_name", "text"),
    ("kindergarten_id", "text"),
    ("resource", "text"),
    ("period", "text"),
    ("current_fte", "fte"),
    ("suggested_fte", "fte"),
    ("change_fte", "fte"),
    ("planned_fte", "fte"),
    ("planned_change_fte", "fte"),
    ("pin", "text"),
    ("required_fte_p50", "fte"),
    ("required_fte_p90", "fte"),
    ("shortfall_risk", "share"),
    ("breach_prob_before", "share"),
    ("breach_prob_after", "share"),
    ("binding_constraint", "text"),
    ("forecast", "text"),
    ("overridden", "text"),
    ("approved", "text"),
    ("approved_by", "text"),
)


def _fallback_reason(forecast: Any) -> str | None:
    """The fallback's reason from a line's forecast source ("model" or "fallback: <reason>")."""
    text = "" if forecast is None or forecast != forecast else str(forecast)
    return text.removeprefix("fallback:").strip() if text.startswith("fallback") else None


def lines_columns(language: str, lines: pd.DataFrame) -> list[Column]:
    shown = suppress_frame(lines)
    records = [{str(k): v for k, v in r.items()} for r in shown.to_dict(orient="records")]
    columns = []
    for name, unit in LINE_COLUMNS:
        if name not in shown.columns:
            continue
        values = shown[name].tolist()
        if name == "resource":
            values = [words.word(language, words.RESOURCE, v) for v in values]
        elif name == "kindergarten_name":
            values = [words.place_name(language, v) for v in values]
        elif name == "binding_constraint":
            values = [words.word(language, words.BINDING, v) if v else None for v in values]
        elif name == "forecast":
            values = [words.forecast_source(language, _fallback_reason(v)) for v in values]
        elif name in ("overridden", "approved"):
            values = [_yes_no(language, v) for v in values]
        columns.append(Column(words.column_word(language, name), unit, values))
    columns.append(
        Column(
            gettext(language, N_("Why")),
            "text",
            [explanation_text(language, r) for r in records],
        )
    )
    return columns


def summary_columns(language: str, summary: Sequence[Mapping[str, Any]]) -> list[Column]:
    """Measures as rows, allocations as columns (the widths; each row's number format is set by
    :func:`_format_summary_rows`, as its unit is per row)."""
    table = summary_rows(language, summary)
    columns = [Column(gettext(language, N_("Measure")), "text", [r[0] for r in table.rows])]
    for j, name in enumerate(table.allocations):
        columns.append(Column(name, "nok", [r[1][j] for r in table.rows]))
    return columns


PIN_COLUMNS = (
    ("kindergarten_name", "text"),
    ("kindergarten_id", "text"),
    ("resource", "text"),
    ("pin_action", "text"),
    ("solved_fte", "fte"),
    ("planned_fte", "fte"),
    ("rules_line", "text"),
    ("comment", "text"),
    ("created_by", "text"),
    ("created_at", "when"),
)


def pins_columns(language: str, pins: pd.DataFrame) -> list[Column]:
    """Every pin (:func:`serving.overrides.pins_frame`): what the planner did ("Låst til 7,0
    årsverk (+1,0)"), the line's solved and planned figure, whether it rules the line, who and
    why."""
    columns = []
    for name, unit in PIN_COLUMNS:
        values = pins[name].tolist() if name in pins.columns else [None] * len(pins)
        if name == "resource":
            values = [words.word(language, words.RESOURCE, v) for v in values]
        elif name == "kindergarten_name":
            values = [words.place_name(language, v) for v in values]
        elif name == "rules_line":
            values = [_yes_no(language, v) for v in values]
        elif name == "created_at":
            values = [datetime.fromisoformat(v) if isinstance(v, str) else v for v in values]
        columns.append(Column(words.column_word(language, name), unit, values))
    return columns


def audit_columns(language: str, events: Sequence[Any]) -> list[Column]:
    def col(name: str, unit: str, values: list[Any]) -> Column:
        return Column(words.column_word(language, name), unit, values)

    return [
        col("at", "when", [e.at for e in events]),
        col("user_name", "text", [e.user_name for e in events]),
        col("action", "text", [words.word(language, words.AUDIT_ACTION, e.action) for e in events]),
        col("entity", "text", [f"{e.entity} {e.entity_id}" for e in events]),
        col("comment", "text", [e.comment for e in events]),
    ]


def lines_csv(language: str, lines: pd.DataFrame, *, simulated: bool) -> bytes:
    """A plan's lines as the CSV a planner opens: the Lines sheet's columns, headers and words in
    ``language`` (no machine names: the Power BI tables have those). In bokmål the Norwegian
    spreadsheet's dialect — ``;`` between fields, decimal comma; a byte-order mark so Excel reads
    the file as UTF-8. The first column says when the data are simulated."""
    columns = lines_columns(language, lines)
    frame = pd.DataFrame({c.header: [_plain(v) for v in c.values] for c in columns})
    label = (
        gettext(language, N_("SIMULATED DATA — not real kindergartens"))
        if simulated
        else gettext(language, N_("real data"))
    )
    frame.insert(0, gettext(language, N_("Data")), label)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(csv_safe)
    sep, decimal = (";", ",") if language == "nb" else (",", ".")
    return frame.to_csv(index=False, sep=sep, decimal=decimal).encode("utf-8-sig")


def plan_workbook(
    *,
    language: str,
    plan_info: Mapping[str, Any],
    header: Mapping[str, Any],
    lines: pd.DataFrame,
    summary: Sequence[Mapping[str, Any]],
    pins: pd.DataFrame,
    audit: Sequence[Any],
    simulated: bool,
) -> bytes:
    """The workbook's bytes: sheets Plan (header rows), Lines, Comparison, Pins, Audit trail
    (named in ``language``)."""
    title = _title(language, plan_info, header)
    if simulated:
        title += " — " + gettext(language, N_("SIMULATED DATA — not real kindergartens"))
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = gettext(language, SHEETS["header"])
    names = (
        dict(zip(lines["kindergarten_id"].astype(str), lines["kindergarten_name"], strict=True))
        if {"kindergarten_id", "kindergarten_name"} <= set(lines.columns)
        else {}
    )
    rows = plan_header_rows(language, plan_info, header, simulated=simulated, names=names)
    write_sheet(
        sheet,
        title,
        [
            Column(gettext(language, N_("What")), "text", [r.label for r in rows]),
            Column(gettext(language, N_("Value")), "text", [None] * len(rows)),
        ],
        language,
    )
    for i, row in enumerate(rows):
        _set(sheet.cell(row=3 + i, column=2), row.value, row.unit, language)
    sheet.column_dimensions["B"].width = MAX_WIDTH
    for key, columns in (
        ("lines", lines_columns(language, lines)),
        ("summary", summary_columns(language, summary)),
        ("pins", pins_columns(language, pins)),
        ("audit", audit_columns(language, audit)),
    ):
        write_sheet(book.create_sheet(gettext(language, SHEETS[key])), title, columns, language)
    _format_summary_rows(book[gettext(language, SHEETS["summary"])], summary, language)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _format_summary_rows(
    sheet: Worksheet, summary: Sequence[Mapping[str, Any]], language: str
) -> None:
    """The comparison's measures have a unit per row (NOK, FTE, FTE-months), the same units the
    plan page formats them in (:func:`serving.exports.summary_rows`)."""
    table = summary_rows(language, summary)
    for i, (_, _, unit) in enumerate(table.rows):
        for cell in sheet[3 + i][1:]:
            if cell.value is not None:
                cell.number_format = formatting.excel_number_format(unit, language)
