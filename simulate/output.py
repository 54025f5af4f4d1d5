"""Write a simulation: the contract's files (``data.writers.write_district``), the ground
truth under ``truth/`` and a label saying the data are simulated and how they were made."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from data.contract import SIMULATED_LABEL
from data.writers import FORMATS, file_frame, write_district
from simulate.raw import write_raw_exports

if TYPE_CHECKING:
    from simulate.simulation import Simulation

TRUTH_FOLDER = "truth"
#: ``fmt`` for the district's raw exports with ``sources.toml`` (:mod:`simulate.raw`).
RAW = "raw"
LABEL_FILE = "SIMULATED.md"


def write_simulation(sim: Simulation, out: Path, fmt: str = "csv") -> list[Path]:
    """Write ``sim`` to ``out`` (a folder; for duckdb also a ``.duckdb`` file path) and return the
    paths written. Ground truth goes to ``truth/`` beside the data (``<name>_truth/`` for a named
    DuckDB file; CSV when ``fmt`` is csv, else Parquet), with a SIMULATED.md label naming the
    preset, seed and process in the data folder and in the truth folder."""
    if fmt not in (*FORMATS, RAW):
        raise ValueError(f"format {fmt!r} is not one of {', '.join((*FORMATS, RAW))}")
    out = Path(out)
    if fmt == RAW:
        written = write_raw_exports(sim.district, out)
    else:
        written = write_district(sim.district, out, fmt)  # type: ignore[arg-type]
    label_places = []
    if fmt == "duckdb":
        # the database itself carries the writer's marker table; a folder we made gets the label
        # file, a database file named by the user gets its truth in "<name>_truth/" beside it
        database = written[0]
        if database != out:  # out was a folder
            truth_dir = database.parent / TRUTH_FOLDER
            label_places.append(database.parent / LABEL_FILE)
        else:
            truth_dir = database.parent / f"{database.stem}_{TRUTH_FOLDER}"
    else:
        truth_dir = out / TRUTH_FOLDER
        label_places.append(out / LABEL_FILE)
    truth_dir.mkdir(parents=True, exist_ok=True)
    truth_fmt = "csv" if fmt == "csv" else "parquet"
    for name, frame in sim.truth.items():
        path = truth_dir / f"{name}.{truth_fmt}"
        table = file_frame(frame)
        if truth_fmt == "csv":
            table.to_csv(path, index=False)
        else:
            table.to_parquet(path, index=False)
        written.append(path)
    label = _label(sim)
    for place in (*label_places, truth_dir / LABEL_FILE):
        place.write_text(label, encoding="utf-8")
        if place not in written:
            written.append(place)
    return written


def _label(sim: Simulation) -> str:
    district = sim.district
    months = district.monthly["month"]
    return f"""# {SIMULATED_LABEL}

Every table here was made by the simulator of the bemanning engine (`simulate`), not
taken from any kindergarten. Only the district-level population rows for years up to 2024 are real
(Statistics Norway, table 10826, NLOD 2.0, "Statistisk sentralbyrå (SSB), tabell 10826"); later
years are a projection (`projection` = true) and area rows are a simulated split.

- preset: {sim.preset}
- seed: {sim.seed}
- source: {district.source}
- months: {months.min()} … {months.max()}
- kindergartens: {len(district.kindergartens)}; kindergarten-months: {len(district.monthly)}
- fingerprint: {district.fingerprint()}
- generating process: simulate/PROCESS.md in the bemanning repository

`truth/` holds the ground truth the process used: latent parameters per kindergarten
(`kindergartens`), latent values per kindergarten-month including the months left out of the data
as gaps (`monthly`, column `in_data`), the refugee-settlement shocks (`events`) and the areas'
living conditions and trends (`areas`). Use it to check models, never as input to them.
"""
