"""Write a simulation: the contract's files (``features.writers.write_district``), the ground
truth under ``truth/`` and a label saying the data are simulated and how they were made."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from features.contract import SIMULATED_LABEL
from features.writers import DUCKDB_FILE_NAME, FORMATS, write_district

if TYPE_CHECKING:
    from features.simulate.simulation import Simulation

TRUTH_FOLDER = "truth"
LABEL_FILE = "SIMULATED.md"


def write_simulation(sim: Simulation, out: Path, fmt: str = "csv") -> list[Path]:
    """Write ``sim`` to ``out`` (a folder; for duckdb also a ``.duckdb`` file path) and return the
    paths written. Ground truth goes to ``truth/`` beside the data (CSV when ``fmt`` is csv, else
    Parquet), with a SIMULATED.md label in both places naming the preset, seed and process."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    out = Path(out)
    written = write_district(sim.district, out, fmt)  # type: ignore[arg-type]
    if fmt == "duckdb":
        database = written[0]
        folder = database.parent
        truth_dir = folder / (
            TRUTH_FOLDER if database.name == DUCKDB_FILE_NAME else f"{database.stem}_{TRUTH_FOLDER}"
        )
    else:
        folder = out
        truth_dir = out / TRUTH_FOLDER
    truth_dir.mkdir(parents=True, exist_ok=True)
    truth_fmt = "csv" if fmt == "csv" else "parquet"
    for name, frame in sim.truth.items():
        path = truth_dir / f"{name}.{truth_fmt}"
        table = _file_frame(frame)
        if truth_fmt == "csv":
            table.to_csv(path, index=False)
        else:
            table.to_parquet(path, index=False)
        written.append(path)
    label = _label(sim)
    for place in (folder / LABEL_FILE, truth_dir / LABEL_FILE):
        place.write_text(label, encoding="utf-8")
        if place not in written:
            written.append(place)
    return written


def _file_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.PeriodDtype):
            out[column] = out[column].dt.strftime("%Y-%m").where(out[column].notna(), None)
    return out


def _label(sim: Simulation) -> str:
    district = sim.district
    months = district.monthly["month"]
    return f"""# {SIMULATED_LABEL}

Every table here was made by the simulator of the bemanning engine (`features.simulate`), not
taken from any kindergarten. Only the district-level population rows for years up to 2024 are real
(Statistics Norway, table 10826, NLOD 2.0, "Statistisk sentralbyrå (SSB), tabell 10826"); later
years are a projection (`projection` = true) and area rows are a simulated split.

- preset: {sim.preset}
- seed: {sim.seed}
- source: {district.source}
- months: {months.min()} … {months.max()}
- kindergartens: {len(district.kindergartens)}; kindergarten-months: {len(district.monthly)}
- fingerprint: {district.fingerprint()}
- generating process: features/simulate/PROCESS.md in the bemanning repository

`truth/` holds the ground truth the process used: latent parameters per kindergarten
(`kindergartens`), latent values per kindergarten-month including the months left out of the data
as gaps (`monthly`, column `in_data`), the refugee-settlement shocks (`events`) and the areas'
living conditions and trends (`areas`). Use it to check models, never as input to them.
"""
