"""Tables as the report shows them: a DataFrame of raw numbers plus, per column, a label and a
kind that decides how a value is written in the report's language (FTE-months with one decimal,
NOK with thousands separators, shares as per cent, § 31/§ 37 counts suppressed under 5).

Every numeric cell keeps its raw value beside the text (``data-value`` in the HTML) so a test or
a reader's script can check the report against the plan summary exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from serving.report.privacy import SUPPRESSED, suppress_count
from serving.report.wording import DEFAULT_LANGUAGE, written

ColumnKind = Literal[
    "text", "fte", "count", "nok", "share", "hours", "decisions", "ratio", "by_row"
]


@dataclass(frozen=True)
class Column:
    """One shown column: ``key`` in the frame, the header ``label``, how values are written."""

    key: str
    label: str
    kind: ColumnKind = "text"
    #: A header over neighbouring columns that share it (e.g. "Unmet FTE-months" over the
    #: allocations), so each column's own label stays short.
    group: str = ""
    #: Written with a sign ("+1,2", "−3,4"): a difference.
    signed: bool = False


@dataclass(frozen=True)
class HeaderCell:
    text: str
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True)
class Cell:
    text: str
    value: float | None = None  #: the raw number (None for text and suppressed counts)
    numeric: bool = False


@dataclass
class ReportTable:
    """A titled table of the report; ``html_id`` anchors it for readers and tests."""

    html_id: str
    caption: str
    columns: tuple[Column, ...]
    frame: pd.DataFrame
    note: str = ""
    highlight_rows: tuple[int, ...] = field(default=())
    #: For columns of kind "by_row": the frame column holding each row's kind.
    row_kind_key: str = "kind_of_value"
    language: str = DEFAULT_LANGUAGE

    def header(self) -> list[str]:
        return [c.label for c in self.columns]

    def header_rows(self) -> list[list[HeaderCell]]:
        """One header row, or two when columns are grouped: the groups (and the ungrouped
        columns, two rows high) above the grouped columns' own labels."""
        if not any(c.group for c in self.columns):
            return [[HeaderCell(c.label) for c in self.columns]]
        top: list[HeaderCell] = []
        below: list[HeaderCell] = []
        for column in self.columns:
            if not column.group:
                top.append(HeaderCell(column.label, rowspan=2))
                continue
            below.append(HeaderCell(column.label))
            previous = top[-1] if top else None
            if previous is not None and previous.rowspan == 1 and previous.text == column.group:
                top[-1] = HeaderCell(column.group, colspan=previous.colspan + 1)
            else:
                top.append(HeaderCell(column.group))
        return [top, below]

    def rows(self) -> list[list[Cell]]:
        return [
            [
                format_cell(
                    record.get(c.key),
                    record[self.row_kind_key] if c.kind == "by_row" else c.kind,
                    self.language,
                    signed=c.signed,
                )
                for c in self.columns
            ]
            for record in self.frame.to_dict(orient="records")
        ]


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def format_cell(
    value: object, kind: ColumnKind, language: str = DEFAULT_LANGUAGE, *, signed: bool = False
) -> Cell:
    """The text a reader sees for ``value`` of this ``kind``; numbers keep their raw value."""
    if kind == "text":
        return Cell("" if _is_missing(value) else str(value))
    if _is_missing(value):
        return Cell("–", None, numeric=True)
    number = float(value)  # type: ignore[arg-type]
    if kind == "decisions":
        text = suppress_count(number)
        # a suppressed count must not leak through the raw value either
        return Cell(text, None if text == SUPPRESSED else number, numeric=True)
    if kind not in ("fte", "count", "hours", "nok", "share", "ratio"):
        raise ValueError(f"unknown column kind {kind!r}")
    return Cell(written(number, kind, language, signed=signed), number, numeric=True)
