"""Write a District as the contract's files, in any of the four input formats.

Months are written as ``YYYY-MM`` text, missing values as empty cells, so what is written reads
back through :func:`data.validate.read_district` as the same District. A simulated District
also gets a marker (``SIMULATED.md`` beside the files, or a ``simulated_label`` table in DuckDB)
so whoever opens the folder, and the reader, know the data are not real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from data.contract import SIMULATED_LABEL, District
from data.lineage import LINEAGE_FILE
from data.readers import DUCKDB_SUFFIXES, SIMULATED_MARKER_FILE, SIMULATED_MARKER_TABLE

Format = Literal["csv", "parquet", "xlsx", "duckdb"]
FORMATS: tuple[Format, ...] = ("csv", "parquet", "xlsx", "duckdb")
#: The file name used when ``fmt="duckdb"`` and ``out`` is a folder.
DUCKDB_FILE_NAME = "district.duckdb"


def file_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as it goes into a file: periods as ``YYYY-MM`` text, the rest unchanged."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.PeriodDtype):
            out[column] = out[column].dt.strftime("%Y-%m").where(out[column].notna(), None)
    return out


def district_tables(district: District) -> dict[str, pd.DataFrame]:
    """The contract's tables of a District, ready to write (population only when present)."""
    tables = {"kindergartens": district.kindergartens, "monthly": district.monthly}
    if district.population is not None:
        tables["population"] = district.population
    if district.quality is not None:
        tables["quality"] = district.quality
    return {name: file_frame(frame) for name, frame in tables.items()}


def write_district(district: District, out: Path, fmt: Format = "csv") -> list[Path]:
    """Write ``district`` to ``out`` and return the paths written.

    For csv/parquet/xlsx, ``out`` is a folder (created if needed) that gets ``kindergartens.*``,
    ``monthly.*`` and, when present, ``population.*``. For duckdb, ``out`` is the database file
    when it ends in .duckdb/.ddb/.db, otherwise a folder that gets ``district.duckdb``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    out = Path(out)
    tables = district_tables(district)
    if fmt == "duckdb":
        return [_write_duckdb(tables, out, simulated=district.simulated)]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            exact_floats(frame).to_csv(path, index=False)
        elif fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            write_xlsx(frame, path, sheet=name)
        written.append(path)
    if district.lineage is not None:
        path = out / LINEAGE_FILE
        district.lineage.to_csv(path, index=False)
        written.append(path)
    marker = out / SIMULATED_MARKER_FILE
    if district.simulated:
        marker.write_text(f"# {SIMULATED_LABEL}\n\nEvery file in this folder is simulated.\n")
        written.append(marker)
    elif marker.exists():
        marker.unlink()  # real data written over a simulated folder must not stay labelled
    return written


def exact_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats as their shortest exact text, so a CSV reads back bit for bit (pandas' own CSV
    formatting drops the last digit of values like 0.10300000000000001)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == "float64":
            values = out[column].to_numpy()
            text = values.astype(str).astype(object)
            text[np.isnan(values)] = None
            out[column] = text
    return out


def write_xlsx(frame: pd.DataFrame, path: Path, *, sheet: str) -> None:
    """Numbers are written as Excel holds them: 15 significant digits."""
    # Nullable integers go in as objects so a missing count is an empty cell, not "<NA>".
    cells = frame.astype(object).where(frame.notna(), None)
    cells.to_excel(path, index=False, sheet_name=sheet, engine="openpyxl")


def _write_duckdb(tables: dict[str, pd.DataFrame], out: Path, *, simulated: bool) -> Path:
    import duckdb

    path = out if out.suffix.lower() in DUCKDB_SUFFIXES else out / DUCKDB_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    try:
        for name, frame in tables.items():
            con.register("frame_to_write", frame)
            con.execute(f'create table "{name}" as select * from frame_to_write')
            con.unregister("frame_to_write")
        if simulated:
            con.execute(f'create table "{SIMULATED_MARKER_TABLE}" (label varchar)')
            con.execute(f'insert into "{SIMULATED_MARKER_TABLE}" values (?)', [SIMULATED_LABEL])
    finally:
        con.close()
    return path
