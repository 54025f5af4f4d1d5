"""``bemanning assemble FOLDER --out CLEAN``: a district's raw exports (``sources.toml``) →
the contract's tables as CSV plus ``lineage.csv`` (where every column came from)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from serving.commands.common import console, user_errors


def assemble(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Folder of raw exports with a sources.toml (CONTRACT.md, Raw exports).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Folder for the assembled tables and lineage.csv.", show_default=False
        ),
    ],
) -> None:
    """Assemble raw exports into the contract's tables; list every problem, or write them."""
    from data.assemble import assemble_folder
    from data.contract import SIMULATED_LABEL
    from data.errors import UserInputError
    from data.sources import is_raw_folder
    from data.writers import write_district

    if not is_raw_folder(folder):
        raise UserInputError(f"{folder} holds no sources.toml: it is not a folder of raw exports")
    with console.status("Reading, matching and checking the raw exports…"):
        assembly = assemble_folder(folder)
    district = assembly.district
    if district.simulated:
        console.print(f"[bold yellow]{SIMULATED_LABEL}[/]")
    written = write_district(district, out, "csv")
    n_quality = 0 if district.quality is None else len(district.quality)
    console.print(
        f"[bold green]OK[/] {len(assembly.sources)} sources → {len(district.kindergartens):,} "
        f"kindergartens, {len(district.monthly):,} monthly rows, {n_quality:,} quality rows; "
        f"fingerprint {district.fingerprint()}",
        soft_wrap=True,
    )
    console.print(
        f"Wrote {len(written)} files to {out} (lineage.csv: {len(assembly.lineage)} rows)"
    )
    for warning in district.warnings:
        console.print(f"  [yellow]{warning}[/]", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("assemble")(user_errors(assemble))
