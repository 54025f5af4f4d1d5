"""A raw-export folder being written: each file with its ``sources.toml`` entry (the contract's
"Raw exports": key, period, publication lag and the header → column mapping), written in one
call so a file and its description cannot drift apart (:mod:`simulate.raw`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from data.writers import exact_floats


@dataclass(frozen=True)
class SourceSpec:
    """How ``sources.toml`` describes one file: the contract table it feeds, its key column and
    the key's scheme (``None``: the kindergarten ID), its period column, the period's length
    (month, quarter, year), the months after a period it is published, the header → contract
    column mapping (a dict value carries a unit conversion) and, for a workbook, its sheet."""

    table: str
    key: str | None
    period: str | None
    every: str
    lag: int
    columns: dict[str, object]
    key_scheme: str | None = None
    sheet: str | None = None

    def toml(self, file: str) -> str:
        lines = ["[[source]]", f"file = {json.dumps(file)}", f"table = {json.dumps(self.table)}"]
        if self.sheet:
            lines.append(f"sheet = {json.dumps(self.sheet)}")
        if self.key:
            lines.append(f"key = {json.dumps(self.key, ensure_ascii=False)}")
        if self.key_scheme:
            lines.append(f"key_scheme = {json.dumps(self.key_scheme)}")
        if self.period:
            lines += [
                f"period = {json.dumps(self.period, ensure_ascii=False)}",
                f'every = "{self.every}"',
            ]
        lines += [f"published_after_months = {self.lag}", "[source.columns]"]
        for header, target in self.columns.items():
            if isinstance(target, dict):
                inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in target.items())
                value = "{ " + inner + " }"
            else:
                value = json.dumps(target)
            lines.append(f"{json.dumps(header, ensure_ascii=False)} = {value}")
        return "\n".join(lines) + "\n"


@dataclass
class RawFolder:
    """The folder's files written so far and their ``sources.toml`` entries."""

    out: Path
    written: list[Path] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def csv(self, path: str, frame: pd.DataFrame, *, latin: bool = False) -> None:
        """A CSV file as its system exports it: UTF-8 with a byte-order mark and exact floats,
        or (``latin``) Latin-1 with ``;`` and decimal commas."""
        target = self.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if latin:
            comma_decimals(frame).to_csv(target, index=False, sep=";", encoding="latin-1")
        else:
            exact_floats(frame).to_csv(target, index=False, encoding="utf-8-sig")
        self.written.append(target)

    def source(
        self, path: str, frame: pd.DataFrame, spec: SourceSpec, *, latin: bool = False
    ) -> None:
        """A CSV source file and its entry."""
        self.csv(path, frame, latin=latin)
        self.sources.append(spec.toml(path))

    def finish(self, header: list[str]) -> list[Path]:
        """Write ``sources.toml`` (``header``, then every entry); every path written."""
        text = [*header, *self.sources]
        (self.out / "sources.toml").write_text("\n".join(text), encoding="utf-8")
        self.written.append(self.out / "sources.toml")
        return self.written


def comma_decimals(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`exact_floats` with a decimal comma, as a Norwegian spreadsheet exports them."""
    out = exact_floats(frame)
    for column in out.columns:
        if frame[column].dtype == "float64":
            out[column] = out[column].str.replace(".", ",", regex=False)
    return out
