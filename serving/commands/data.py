"""The data commands: ``simulate`` a district, ``validate`` a data set, build its ``features``.

Heavy libraries are imported inside each command, so ``bemanning --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from serving.commands.common import ColumnsOption, DataArgument, console, user_errors

if TYPE_CHECKING:
    from data.contract import District

Preset = Literal["district", "city", "nation"]
FileFormat = Literal["csv", "parquet", "xlsx", "duckdb"]
Process = Literal["cohort", "capacity"]


def simulate(
    out: Annotated[
        Path, typer.Argument(help="Folder to write the simulated data set to.", show_default=False)
    ],
    preset: Annotated[
        Preset,
        typer.Option(help="Size: district (~45 kindergartens), city (~700), nation (~5,500)."),
    ] = "district",
    seed: Annotated[
        int, typer.Option(min=0, help="Random seed; the same seed gives the same data.")
    ] = 7,
    start: Annotated[
        str | None, typer.Option(help="First month, YYYY-MM (default: the preset's).")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last month, YYYY-MM (default: the preset's).")
    ] = None,
    fmt: Annotated[
        FileFormat, typer.Option("--format", help="File format of the written tables.")
    ] = "csv",
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="Write the district's raw exports instead (several files with Norwegian headers, "
            "names and HR codes as keys, quarterly and yearly periods, sources.toml); "
            "--format is then ignored.",
        ),
    ] = False,
    process: Annotated[
        Process,
        typer.Option(
            help="Generating process: cohort (simulate/PROCESS.md, sized by --preset) or "
            "capacity (simulate/capacity/PROCESS.md: 48 kindergartens, intake fills freed places "
            "up to capacity; --preset is ignored)."
        ),
    ] = "cohort",
) -> None:
    """Simulate a district (SIMULATED data, documented generating process) and write it."""
    from data.contract import SIMULATED_LABEL, parse_month
    from data.errors import Problem, UserInputError
    from serving.progress import progress_bar
    from simulate import simulate_district, write_simulation

    problems = []
    months = {}
    for option, text in (("--start", start), ("--end", end)):
        if text is None:
            continue
        try:
            months[option] = parse_month(text)
        except ValueError:
            problems.append(Problem(file=option, rule="month must be YYYY-MM", value=text))
    if not problems and len(months) == 2 and months["--end"] < months["--start"]:
        problems.append(Problem(file="--end", rule="--end is before --start", value=end))
    if problems:
        raise UserInputError("bad options for simulate", problems)

    with progress_bar(console) as bar:
        label = "capacity process" if process == "capacity" else f"{preset} preset"
        task = bar.add_task(f"Simulating the {label} (months)", total=None)

        def progress(
            done: float, total: float | None = None, description: str | None = None
        ) -> None:
            bar.update(task, completed=done, total=total)
            if description:
                bar.update(task, description=description)

        if process == "capacity":
            from simulate.capacity import simulate_capacity

            sim = simulate_capacity(
                seed=seed, start=months.get("--start"), end=months.get("--end"), progress=progress
            )
        else:
            sim = simulate_district(
                preset,
                seed=seed,
                start=months.get("--start"),
                end=months.get("--end"),
                progress=progress,
            )
        bar.update(task, description="Writing files")
        written = write_simulation(sim, out, fmt="raw" if raw else fmt)

    district = sim.district
    console.print(f"[bold yellow]{SIMULATED_LABEL}[/]")
    console.print(_summary(district), soft_wrap=True)
    data_path = written[0] if fmt == "duckdb" and not raw else out
    shown_format = "raw exports with sources.toml" if raw else fmt
    console.print(f"Wrote {len(written)} files to {out} ({shown_format}), ground truth included.")
    console.print(f"Check it with: bemanning validate {data_path}", soft_wrap=True)


def validate(data: DataArgument, columns: ColumnsOption = None) -> None:
    """Check a data set against the data contract; list every problem, or print OK."""
    from data.validate import read_district

    with console.status("Reading and checking the data…"):
        district = read_district(data, column_mapping=columns)
    if district.simulated:
        console.print(f"[bold yellow]{_simulated_label()}[/]")
    console.print(f"[bold green]OK[/] {_summary(district)}", soft_wrap=True)
    _print_warnings(district)


def features(
    data: DataArgument,
    out: Annotated[
        Path, typer.Option("--out", help="Parquet file for the feature table.", show_default=False)
    ],
    columns: ColumnsOption = None,
) -> None:
    """Validate a data set and build its point-in-time kindergarten × month feature table."""
    from data.contract import KNOWN_FUTURE_PREFIX
    from data.errors import UserInputError
    from data.validate import read_district
    from features.table import MONTHLY_VALUE_COLUMNS, build_feature_table

    if out.suffix.lower() != ".parquet":
        raise UserInputError(f"--out {out} must be a .parquet file")
    with console.status("Reading and checking the data…"):
        district = read_district(data, column_mapping=columns)
    if district.simulated:
        console.print(f"[bold yellow]{_simulated_label()}[/]")
    console.print(f"[green]Valid:[/] {_summary(district)}", soft_wrap=True)
    _print_warnings(district)
    with console.status("Building the feature table…"):
        table = build_feature_table(district)
    with console.status(f"Writing {out}…"):
        out.parent.mkdir(parents=True, exist_ok=True)
        written = table.copy()
        month_columns = [c for c in written.columns if str(written[c].dtype).startswith("period")]
        for column in month_columns:
            written[column] = written[column].dt.strftime("%Y-%m")
        written.to_parquet(out, index=False)

    not_features = {"kindergarten_id", "month", "district", *MONTHLY_VALUE_COLUMNS}
    feature_names = [c for c in table.columns if c not in not_features]
    known_future = [c for c in feature_names if c.startswith(KNOWN_FUTURE_PREFIX)]
    console.print(
        f"Wrote {out}: {len(table):,} rows × {len(table.columns)} columns; "
        f"{len(feature_names) - len(known_future)} point-in-time features and "
        f"{len(known_future)} known-future features ({KNOWN_FUTURE_PREFIX}*).",
        soft_wrap=True,
    )


def _simulated_label() -> str:
    from data.contract import SIMULATED_LABEL

    return SIMULATED_LABEL


def _summary(district: District) -> str:
    monthly = district.monthly
    n_months = monthly["month"].nunique()
    return (
        f"{len(district.kindergartens):,} kindergartens, {n_months} months "
        f"({district.first_month} – {district.last_month}), {len(monthly):,} monthly rows"
        + ("" if district.population is None else f", {len(district.population):,} population rows")
        + f"; fingerprint {district.fingerprint()}"
    )


def _print_warnings(district: District) -> None:
    from rich.markup import escape

    if not district.warnings:
        return
    console.print("[yellow]Warnings (shown, not fatal):[/]")
    for warning in district.warnings:
        console.print(f"  [yellow]{escape(str(warning))}[/]", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``simulate``, ``validate`` and ``features`` to the ``bemanning`` app."""
    app.command("simulate")(user_errors(simulate))
    app.command("validate")(user_errors(validate))
    app.command("features")(user_errors(features))
