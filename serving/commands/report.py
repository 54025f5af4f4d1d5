"""``bemanning report``: the benefit report (gevinstrapport) as one self-contained HTML file.

It plans with the champion model and the same options as ``bemanning plan`` (parsed by the same
helpers in :mod:`serving.plan_options`) and renders the plan summary that command prints, so the
two never disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from serving.commands.common import (
    ColumnsOption,
    DataArgument,
    TrackingOption,
    console,
    state_value,
    user_errors,
)
from serving.commands.district_options import (
    AsOneOption,
    DistrictOption,
    DistrictPoolOption,
    PoolsFileOption,
    ProcessesOption,
    collect_district_pools,
)
from serving.i18n import DEFAULT_LANGUAGE, LANGUAGE_ENV, LANGUAGES
from serving.plan_options import OPTIONS, BudgetOption, MonthsOption, RiskOption, StartOption

DEFAULT_MONTHS = OPTIONS["months"].default
DEFAULT_RISK = OPTIONS["risk"].default


@user_errors
def report(
    data: DataArgument,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    pool: Annotated[
        list[str] | None,
        typer.Option(
            "--pool",
            help="Extra FTE to spread, as RESOURCE=FTE, repeated per resource "
            "(staff, pedagogue, resource_pedagogue), as for `bemanning plan`. Without "
            "any --pool the report uses staff=8 pedagogue=4 resource_pedagogue=5 and "
            "says so.",
        ),
    ] = None,
    budget: BudgetOption = None,
    start: StartOption = None,
    months: MonthsOption = DEFAULT_MONTHS,
    risk: RiskOption = DEFAULT_RISK,
    substitute_cost_nok_per_hour: Annotated[
        float | None,
        typer.Option(
            "--substitute-cost-nok-per-hour",
            help="Cost of one substitute hour in NOK (default 350: an assistant's hourly pay "
            "with holiday pay, pension and employer's tax).",
        ),
    ] = None,
    columns: ColumnsOption = None,
    tracking_uri: TrackingOption = None,
    district: DistrictOption = None,
    pools_file: PoolsFileOption = None,
    district_pool: DistrictPoolOption = None,
    as_one: AsOneOption = False,
    processes: ProcessesOption = None,
    language: Annotated[
        str,
        typer.Option(
            "--language",
            envvar=LANGUAGE_ENV,
            help="Language of the report: nb (Norwegian bokmål) or en; the same setting as the "
            "planners' app.",
        ),
    ] = DEFAULT_LANGUAGE,
) -> None:
    """Write the benefit report: the plan against the proportional key and no pool (unmet
    FTE-months, norm breaches, substitute cost avoided, spread across areas), the forecast
    quality it rests on, the model version and the data fingerprint.

    Data with several districts are planned as `bemanning plan` plans them: each district with
    its own pools (--pools-file, --district-pool; --pool for the others), in parallel
    processes, reported as the city with a breakdown per district; --district reports only the
    districts named, --as-one plans everything as one problem."""
    from data.errors import Problem, UserInputError
    from serving.report.districts import make_district_benefit_report
    from serving.report.service import ReportOptions

    per_district, problems = collect_district_pools(pools_file, district_pool)
    if out.suffix.lower() not in (".html", ".htm"):
        problems.append(Problem(file="--out", rule="must be an .html file", value=str(out)))
    if language not in LANGUAGES:
        problems.append(
            Problem(
                file="--language", rule=f"must be one of {', '.join(LANGUAGES)}", value=language
            )
        )
    try:
        options = ReportOptions.from_cli(
            pools=pool,
            budget=budget,
            start=start,
            months=months,
            risk=risk,
            substitute_cost_nok_per_hour=substitute_cost_nok_per_hour,
            months_given=months != DEFAULT_MONTHS,
            risk_given=risk != DEFAULT_RISK,
            language=language,
        )
    except UserInputError as exc:
        problems = exc.problems + problems
    if problems:
        raise UserInputError(f"{len(problems)} problem(s) with the options", problems)
    path = make_district_benefit_report(
        data,
        out,
        options,
        wanted=district,
        as_one=as_one,
        per_district=per_district,
        processes=processes,
        columns=columns,
        tracking_uri=state_value("mlflow", tracking_uri, data),
        console=console,
    )
    console.print(f"Report: {path}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
