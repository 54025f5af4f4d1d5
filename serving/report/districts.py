"""The benefit report of data with several districts, planned as ``bemanning plan`` plans them by
default: each district with its own pools (in parallel processes), reported as one city with the
city summary (the districts' added up) and a breakdown per district.

The forecasts are made once for all kindergartens; each district's plan is measured per
kindergarten on its own scenarios (nothing drawn again), and the outcomes must add up to the
city summary as a single plan's must add up to its summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from data.contract import KINDERGARTEN_ID, RESOURCES, SIMULATED_LABEL, District
from serving import words
from serving.district_plans import (
    DistrictPlan,
    city_plan,
    district_subset,
    forecast_and_plan_districts,
)
from serving.i18n import gettext
from serving.report.numbers import BenefitReport, OptionShown
from serving.report.service import ReportOptions, finish_report
from serving.report.wording import report_words, written

if TYPE_CHECKING:
    from rich.console import Console


def districts_subset(district: District, names: list[str]) -> District:
    """The kindergartens of the districts ``names`` (all of the data when it is every one)."""
    if set(names) >= set(district.kindergartens["district"].dropna().astype(str)):
        return district
    parts = [district_subset(district, name) for name in names]
    return replace(
        parts[0],
        kindergartens=pd.concat([p.kindergartens for p in parts], ignore_index=True),
        monthly=pd.concat([p.monthly for p in parts], ignore_index=True),
        population=district.population,
    )


def _pools(plan: DistrictPlan) -> dict[str, float]:
    given = plan.result.header.get("pools_fte")
    return {str(k): float(v) for k, v in given.items()} if isinstance(given, Mapping) else {}


def pools_shown(
    options: ReportOptions,
    plans: list[DistrictPlan],
    per_district: Mapping[str, Mapping[str, float]],
) -> list[OptionShown]:
    """The pool rows of the report's options, in the report's language: each district's pool
    when all districts got the same, else the city's total with how many districts had pools of
    their own."""
    language = options.language
    _ = report_words(language)
    rows = []
    own = sum(1 for p in plans if p.district in per_district)
    for resource in RESOURCES:
        values = [_pools(p).get(resource, 0.0) for p in plans]
        given = "pools" in options.given or own > 0
        if own == 0 and len(set(values)) == 1:
            text = _(
                "%(each)s FTE per district (%(all)s in all)",
                each=written(values[0], "weight", language),
                all=written(sum(values), "weight", language),
            )
        else:
            text = _(
                "%(all)s FTE in all over %(n)s districts (%(own)s with pools of their own)",
                all=written(sum(values), "weight", language),
                n=len(plans),
                own=own,
            )
        label = gettext(language, words.PLAN_OPTION[f"pool_{resource}"][0])
        rows.append(OptionShown(f"--pool {resource}", text, given, label=label))
    return rows


def district_benefit_report(
    district: District,
    forecasts: pd.DataFrame,
    plans: list[DistrictPlan],
    *,
    model_version: str,
    model_run_id: str | None = None,
    backtest_metrics: pd.DataFrame | None = None,
    options: ReportOptions,
    per_district: Mapping[str, Mapping[str, float]],
    request: Any,
) -> BenefitReport:
    """The report of the district plans of ``district`` (the chosen districts' data) as one
    city: its summary is :func:`serving.district_plans.city_summary`, its kindergartens are
    measured per district on that district's scenarios."""
    from serving.report.assemble import build_benefit_report
    from serving.report.outcomes import check_adds_up, kindergarten_outcomes

    frames = []
    for p in plans:
        part = district_subset(district, p.district)
        ids = set(part.kindergartens[KINDERGARTEN_ID].astype(str))
        mine = forecasts[forecasts[KINDERGARTEN_ID].astype(str).isin(ids)]
        frames.append(kindergarten_outcomes(part, mine, request, p.result))
    outcomes = pd.concat(frames, ignore_index=True)
    city = city_plan(plans, data_fingerprint=district.fingerprint())
    check_adds_up(outcomes, city.summary)
    shown = options.shown(request)
    pools = pools_shown(options, plans, per_district)
    shown = pools + [row for row in shown if not row.option.startswith("--pool ")]
    return build_benefit_report(
        district,
        city,
        outcomes=outcomes,
        model_version=model_version,
        model_run_id=model_run_id,
        backtest_metrics=backtest_metrics,
        options=shown,
        settings=options.settings(),
        language=options.language,
    )


def make_district_benefit_report(
    data: Path,
    out: Path,
    options: ReportOptions,
    *,
    wanted: list[str] | None,
    as_one: bool,
    per_district: Mapping[str, Mapping[str, float]],
    processes: int | None = None,
    columns: Path | None = None,
    tracking_uri: str | None = None,
    console: Console | None = None,
) -> Path:
    """``bemanning report``: read ``data``; with several districts (or ``--district``) plan each
    chosen district with its own pools in parallel and write the city's report, else (one
    district, or ``--as-one``) the report of one plan of everything
    (:func:`serving.report.service.make_benefit_report`). Returns the report's path."""
    from rich.console import Console

    from data.validate import read_district
    from serving.district_plans import chosen_districts
    from serving.progress import staged_progress
    from serving.report.service import make_benefit_report
    from training.registry import load_champion

    console = console or Console()
    with console.status("Reading and checking the data…"):
        data_set = read_district(data, column_mapping=columns)
    names = chosen_districts(data_set, wanted, as_one, per_district)
    if names is None:
        return make_benefit_report(
            data,
            out,
            options,
            columns=columns,
            tracking_uri=tracking_uri,
            console=console,
            data_set=data_set,
        )
    steps = (
        "Reading and checking the data",
        "Loading the champion model",
        "Forecasting",
        f"Planning {len(names)} districts, each with its own pools",
        "Measuring every kindergarten",
        "Writing the report",
    )
    with staged_progress(steps, console) as step:
        step(1)  # the data were read above
        champion = load_champion(tracking_uri)
        request, forecasts, plans = forecast_and_plan_districts(
            data_set,
            champion,
            options.plan_request(),
            names,
            pools=per_district,
            processes=processes,
            step=step,
        )
        step(4)
        report = district_benefit_report(
            districts_subset(data_set, names),
            forecasts,
            plans,
            model_version=str(champion.version),
            model_run_id=champion.run_id,
            backtest_metrics=champion.metrics,
            options=options,
            per_district=per_district,
            request=request,
        )
        path = finish_report(report, champion, tracking_uri, options, out, step)
    if report.simulated:
        console.print(f"[bold yellow]{SIMULATED_LABEL}[/]")  # the command line speaks English
    return path
