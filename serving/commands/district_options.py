"""The per-district options of ``bemanning plan`` and ``bemanning report`` (``--district``,
``--pools-file``, ``--district-pool``, ``--processes``) and how the district plans are written
and printed (see :mod:`serving.district_plans`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer

from data.errors import Problem, UserInputError
from serving.commands.common import console

if TYPE_CHECKING:
    from serving.district_plans import DistrictPlan

DistrictOption = Annotated[
    list[str] | None,
    typer.Option(
        "--district",
        help="Plan only this district of the data (repeat for several); default: every "
        "district, each with its own pools.",
    ),
]
PoolsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--pools-file",
        help="CSV with columns district,resource,fte: each district's pools (a district "
        "missing from it gets the --pool values).",
    ),
]
DistrictPoolOption = Annotated[
    list[str] | None,
    typer.Option(
        "--district-pool",
        help="One district's pool as DISTRICT:RESOURCE=FTE, e.g. Alna:staff=3; repeat per "
        "district and resource (overrides --pools-file for that district).",
    ),
]
AsOneOption = Annotated[
    bool,
    typer.Option(
        "--as-one",
        help="Plan every kindergarten of the data as one problem with one set of pools "
        "(--pool), instead of one plan per district.",
    ),
]
ProcessesOption = Annotated[
    int | None,
    typer.Option(
        "--processes",
        help="District plans solved at once, each in its own process (default: the cores).",
        min=1,
    ),
]

#: the summary rows printed for a plan and for the city, with their words
SUMMARY_SHOWN = (
    ("unmet_staff_fte_months", "unmet staff FTE-months"),
    ("unmet_pedagogue_fte_months", "unmet pedagogue position-months"),
    ("unmet_resource_pedagogue_fte_months", "unmet § 31/§ 37 FTE-months"),
    ("breach_months_staffing", "kg-months below the staffing norm"),
    ("breach_months_pedagogue", "kg-months below the pedagogue norm"),
    ("breach_months_special_needs", "kg-months with § 31/§ 37 hours unmet"),
)


def collect_district_pools(
    pools_file: Path | None, district_pool: list[str] | None
) -> tuple[dict[str, dict[str, float]], list[Problem]]:
    """(pools per district from the file, overridden per district by ``--district-pool``;
    every problem with either)."""
    from serving.district_plans import parse_district_pools, read_pools_file

    problems: list[Problem] = []
    pools: dict[str, dict[str, float]] = {}
    if pools_file is not None:
        try:
            pools.update(read_pools_file(pools_file))
        except UserInputError as exc:
            problems += exc.problems
    try:
        pools.update(parse_district_pools(district_pool))
    except UserInputError as exc:
        problems += exc.problems
    return pools, problems


def _json_value(value: Any) -> Any:
    from serving.commands.planning import _json_value as plan_json_value

    return plan_json_value(value)


def write_district_plans(plans: list[DistrictPlan], out: Path) -> dict[str, Path]:
    """All districts' lines in ``out`` (district as the last column), their headers in
    ``<out>.header.json`` by district, the city summary in ``<out>.summary.csv`` and each
    district's summary in ``<out>.districts.csv``."""
    from data.contract import SIMULATED_LABEL
    from serving.district_plans import city_summary, combined_lines, district_summaries

    out.parent.mkdir(parents=True, exist_ok=True)
    paths = {
        "plan": out,
        "header": out.with_suffix(".header.json"),
        "summary": out.with_suffix(".summary.csv"),
        "districts": out.with_suffix(".districts.csv"),
    }
    combined_lines(plans).to_csv(out, index=False)
    simulated = any(p.result.simulated for p in plans)
    header: dict[str, Any] = {
        "districts": {p.district: p.result.header for p in plans},
        "simulated": simulated,
    }
    if simulated:
        header["label"] = SIMULATED_LABEL
    paths["header"].write_text(
        json.dumps(_json_value(header), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    city_summary(plans).to_csv(paths["summary"], index=False)
    district_summaries(plans).to_csv(paths["districts"], index=False)
    return paths


def summary_table(summary: pd.DataFrame, title: str) -> Any:
    """A plan summary (rows plan / proportional / none) as the Rich table the commands print."""
    from rich.table import Table

    from models.allocation.comparison import COMPARED_LABELS

    table = Table(title=title)
    table.add_column("expected over the period")
    indexed = summary.set_index("allocation")
    for allocation in indexed.index:
        label = COMPARED_LABELS["en"].get(str(allocation), str(allocation))
        table.add_column(label, justify="right")
    for column, label in SUMMARY_SHOWN:
        table.add_row(label, *(f"{float(v):.1f}" for v in indexed[column]))
    if "cost_nok" in indexed.columns:
        spend = (f"{float(v):,.0f}".replace(",", " ") for v in indexed["cost_nok"])
        table.add_row("spend (NOK)", *spend)
    return table


def print_district_plans(plans: list[DistrictPlan], written: dict[str, Path]) -> None:
    """The city summary, one status line per district and every district's warnings."""
    from serving.district_plans import city_summary

    if any(p.result.simulated for p in plans):
        first = next(p for p in plans if p.result.simulated)
        console.print(f"[bold yellow]{first.result.header.get('label', 'SIMULATED DATA')}[/]")
    period = plans[0].result.header["period"] if plans else ""
    console.print(
        summary_table(
            city_summary(plans), f"{len(plans)} district plans for {period}: the city in sum"
        )
    )
    for p in plans:
        header = p.result.header
        kindergartens = p.result.lines["kindergarten_id"].nunique()
        given = header["pools_fte"]
        pools = (
            ", ".join(f"{r} {v:g}" for r, v in given.items()) if isinstance(given, dict) else ""
        ) or "none"
        console.print(
            f"{p.district}: {kindergartens} kindergartens, pools {pools}; solver "
            f"{header['solver_status']}, {header['solve_seconds']} s",
            highlight=False,
        )
        warnings = header.get("warnings")
        for warning in warnings if isinstance(warnings, list) else []:
            console.print(f"[yellow]  warning: {warning}[/]", highlight=False)
    console.print(
        f"Plans written to {written['plan']} (headers {written['header'].name}, city summary "
        f"{written['summary'].name}, districts {written['districts'].name})"
    )
