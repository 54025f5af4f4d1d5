"""Tables as the report shows them: a DataFrame of raw numbers plus, per column, a label and a
kind that decides how a value is written (FTE-months with one decimal, NOK with thousands
separators, shares as per cent, § 31/§ 37 counts suppressed under 5).

Every numeric cell keeps its raw value beside the text (``data-value`` in the HTML) so a test or
a reader's script can check the report against the plan summary exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from serving.report.privacy import suppress_count

ColumnKind = Literal[
    "text", "fte", "count", "nok", "share", "hours", "decisions", "ratio", "by_row"
]


@dataclass(frozen=True)
class Column:
    """One shown column: ``key`` in the frame, the header ``label``, how values are written."""

    key: str
    label: str
    kind: ColumnKind = "text"


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

    def header(self) -> list[str]:
        return [c.label for c in self.columns]

    def rows(self) -> list[list[Cell]]:
        return [
            [
                format_cell(
                    record.get(c.key),
                    record[self.row_kind_key] if c.kind == "by_row" else c.kind,
                )
                for c in self.columns
            ]
            for record in self.frame.to_dict(orient="records")
        ]


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _thousands(value: float, decimals: int = 0) -> str:
    # Norwegian style: a (non-breaking) space between thousands, comma-free and unambiguous
    return f"{value:,.{decimals}f}".replace(",", "\u00a0")


def format_cell(value: object, kind: ColumnKind) -> Cell:
    """The text a reader sees for ``value`` of this ``kind``; numbers keep their raw value."""
    if kind == "text":
        return Cell("" if _is_missing(value) else str(value))
    if _is_missing(value):
        return Cell("–", None, numeric=True)
    number = float(value)  # type: ignore[arg-type]
    if kind == "decisions":
        text = suppress_count(number)
        # a suppressed count must not leak through the raw value either
        return Cell(text, None if text == "<5" else number, numeric=True)
    if kind == "fte":
        text = _thousands(number, 1)
    elif kind == "count":
        text = _thousands(number, 0)
    elif kind == "hours":
        text = _thousands(number, 0) + "\u00a0h"
    elif kind == "nok":
        text = _thousands(number, 0) + "\u00a0kr"
    elif kind == "share":
        text = f"{number * 100:.1f}\u00a0%"
    elif kind == "ratio":
        text = f"{number:.2f}"
    else:
        raise ValueError(f"unknown column kind {kind!r}")
    return Cell(text, number, numeric=True)
