"""From a data set and the champion model to the report file: read and validate the data, load
the champion, forecast, plan with the same request ``bemanning plan`` builds, measure every
kindergarten under the plan, the proportional key and no pool, and render.

:func:`benefit_report_for_plan` is the part without files or MLflow (notebooks and tests call it
with a plan they made); :func:`make_benefit_report` is the whole command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from data.contract import KINDERGARTEN_ID, RESOURCES, SIMULATED_LABEL, District
from data.errors import Problem, UserInputError
from models.allocation import DEFAULT_RISK
from serving import words
from serving.i18n import DEFAULT_LANGUAGE, Language, as_language, gettext
from serving.report.numbers import (
    DEFAULT_SUBSTITUTE_COST_NOK_PER_HOUR,
    BenefitReport,
    OptionShown,
    ReportSection,
    ReportSettings,
)
from serving.report.wording import month_name, report_words, written

if TYPE_CHECKING:
    from rich.console import Console

#: Pools used when the user gives none: the demo's district-sized pools (stated in the report).
DEFAULT_POOLS_FTE: Mapping[str, float] = {"staff": 8.0, "pedagogue": 4.0, "resource_pedagogue": 5.0}


@dataclass(frozen=True)
class ReportOptions:
    """The plan options (as ``bemanning plan`` takes them) and the report's own settings, with
    which of them the user gave (the report states the defaults it used)."""

    pools_fte: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_POOLS_FTE))
    budget_nok: float | None = None
    start: pd.Period | None = None
    months: int = 12
    risk: float = DEFAULT_RISK
    substitute_cost_nok_per_hour: float = DEFAULT_SUBSTITUTE_COST_NOK_PER_HOUR
    given: frozenset[str] = frozenset()
    #: The language the report is written in (bokmål by default; the app's setting).
    language: Language = DEFAULT_LANGUAGE

    @classmethod
    def from_cli(
        cls,
        *,
        pools: list[str] | None,
        budget: float | None,
        start: str | None,
        months: int,
        risk: float,
        substitute_cost_nok_per_hour: float | None,
        months_given: bool,
        risk_given: bool,
        language: str = DEFAULT_LANGUAGE,
    ) -> ReportOptions:
        """Parse and check the command-line options together (every problem at once)."""
        from serving.plan_options import collect_plan_options

        parsed_pools, budget_nok, start_month, problems = collect_plan_options(
            pools=pools, budget=budget, start=start, months=months, risk=risk
        )
        cost = substitute_cost_nok_per_hour
        if cost is not None and not cost > 0:
            problems.append(
                Problem(
                    file="--substitute-cost-nok-per-hour",
                    rule="must be a positive amount of NOK",
                    value=cost,
                )
            )
        if problems:
            raise UserInputError(f"{len(problems)} problem(s) with the options", problems)
        given = {
            name
            for name, is_given in (
                ("pools", bool(pools)),
                ("budget", budget is not None),
                ("start", start is not None),
                ("months", months_given),
                ("risk", risk_given),
                ("substitute_cost", substitute_cost_nok_per_hour is not None),
            )
            if is_given
        }
        return cls(
            pools_fte=parsed_pools if pools else dict(DEFAULT_POOLS_FTE),
            budget_nok=budget_nok,
            start=start_month,
            months=months,
            risk=risk,
            substitute_cost_nok_per_hour=(
                cost if cost is not None else DEFAULT_SUBSTITUTE_COST_NOK_PER_HOUR
            ),
            given=frozenset(given),
            language=as_language(language),
        )

    def plan_request(self) -> Any:
        """The ``serving.planning.PlanRequest`` these options make."""
        from serving.planning import PlanRequest

        return PlanRequest(
            pools=dict(self.pools_fte),
            budget_nok=self.budget_nok,
            start=self.start,
            months=self.months,
            risk=self.risk,
        )

    def settings(self) -> ReportSettings:
        return ReportSettings(
            substitute_cost_nok_per_hour=self.substitute_cost_nok_per_hour,
            substitute_cost_given="substitute_cost" in self.given,
        )

    def shown(self, request: Any) -> list[OptionShown]:
        """Every plan option with the value ``request`` (the plan's own request) used, marked
        given or default by these options; then the report's own setting. Named and written
        in the report's language, with the command-line flag kept beside it."""
        language = self.language
        _ = report_words(language)
        fte = gettext(language, words.UNIT["FTE"])
        pools = dict(request.pools)
        pools_given = "pools" in self.given
        rows = [
            OptionShown(
                f"--pool {r}",
                f"{written(pools[r], 'fte', language)} {fte}" if r in pools else _("no pool"),
                pools_given,
                label=gettext(language, words.PLAN_OPTION[f"pool_{r}"][0]),
            )
            for r in RESOURCES
        ]
        rows += [
            OptionShown(
                "--budget",
                _("no limit")
                if request.budget_nok is None
                else written(request.budget_nok, "nok", language),
                "budget" in self.given,
                label=gettext(language, words.PARAMETER["budget_nok"]),
            ),
            OptionShown(
                "--start",
                _("the month after the data")
                if request.start is None
                else month_name(request.start, language),
                "start" in self.given,
                label=gettext(language, words.PARAMETER["start"]),
            ),
            OptionShown(
                "--months",
                written(request.months, "count", language),
                "months" in self.given,
                label=gettext(language, words.PARAMETER["months"]),
            ),
            OptionShown(
                "--risk",
                written(request.risk, "ratio", language),
                "risk" in self.given,
                label=gettext(language, words.PARAMETER["risk"]),
            ),
            OptionShown(
                "--substitute-cost-nok-per-hour",
                written(self.substitute_cost_nok_per_hour, "nok", language),
                "substitute_cost" in self.given,
                label=_("Cost of a substitute hour"),
            ),
        ]
        return rows


#: For a plan made in code (a notebook, a test) every plan option is the caller's own choice.
PLAN_FIELDS_GIVEN = frozenset({"pools", "budget", "start", "months", "risk"})


def benefit_report_for_plan(
    district: District,
    forecasts: pd.DataFrame,
    request: Any,
    plan: Any,
    *,
    model_version: str,
    model_run_id: str | None = None,
    backtest_metrics: pd.DataFrame | None = None,
    pit_history: pd.DataFrame | None = None,
    options: ReportOptions | None = None,
    with_figures: bool = True,
    extra_sections: Sequence[ReportSection] = (),
) -> BenefitReport:
    """The report of a plan already built (no files, no MLflow). ``options`` carries the
    report's own settings and which plan options the user gave; the values shown are always
    those of ``request``. ``extra_sections`` (e.g. decision-backtest evidence) are shown after
    the forecast quality."""
    from serving.report.assemble import build_benefit_report
    from serving.report.outcomes import check_adds_up, kindergarten_outcomes

    options = options or ReportOptions(given=PLAN_FIELDS_GIVEN)
    outcomes = kindergarten_outcomes(district, forecasts, request, plan, pit_history=pit_history)
    check_adds_up(outcomes, plan.summary)
    return build_benefit_report(
        district,
        plan,
        outcomes=outcomes,
        model_version=model_version,
        model_run_id=model_run_id,
        backtest_metrics=backtest_metrics,
        options=options.shown(request),
        settings=options.settings(),
        with_figures=with_figures,
        extra_sections=extra_sections,
        language=options.language,
    )


def decision_evidence(champion: Any, tracking_uri: str | None, options: ReportOptions) -> Any:
    """The evidence section from the decision backtest logged with the champion's run."""
    from serving.report.evidence import load_evidence
    from training.settings import load_settings

    return load_evidence(
        load_settings(tracking_uri).tracking_uri,
        champion.run_id,
        substitute_nok_per_hour=options.substitute_cost_nok_per_hour,
        language=options.language,
    )


def make_benefit_report(
    data: Path,
    out: Path,
    options: ReportOptions,
    *,
    columns: Path | None = None,
    tracking_uri: str | None = None,
    console: Console | None = None,
    district_name: str | None = None,
    data_set: District | None = None,
) -> Path:
    """Read ``data``, plan with the champion and write the report to ``out``; returns its path.
    With ``district_name`` only that district is planned and reported, exactly as its part of
    ``bemanning plan``'s per-district plans (its kindergartens and their backtest history).
    ``data_set``: the data already read from ``data`` (not read again).

    Raises :class:`UserInputError` for bad data, bad options or no champion model yet.
    """
    from rich.console import Console

    from data.validate import read_district
    from serving.district_plans import check_districts, district_history, district_subset
    from serving.plan_from_model import forecast_and_plan
    from serving.progress import staged_progress
    from training.registry import load_champion

    if out.suffix.lower() not in (".html", ".htm"):
        raise UserInputError(
            f"--out {out} must be an .html file",
            [Problem(file="--out", rule="must end in .html", value=str(out))],
        )
    console = console or Console()
    steps = (
        "Reading and checking the data",
        "Loading the champion model",
        "Forecasting",
        "Planning",
        "Measuring every kindergarten",
        "Writing the report",
    )
    with staged_progress(steps, console) as step:
        district = data_set if data_set is not None else read_district(data, column_mapping=columns)
        if district_name is not None:
            check_districts(district, [district_name], "--district")
            district = district_subset(district, district_name)
        step(1)
        champion = load_champion(tracking_uri)
        if district_name is not None:
            ids = set(district.kindergartens[KINDERGARTEN_ID].astype(str))
            champion = champion.with_pit_history(district_history(champion.pit_history, ids))
        request = options.plan_request()
        forecasts, plan = forecast_and_plan(district, champion, request, step=step)
        step(4)
        report = benefit_report_for_plan(
            district,
            forecasts,
            request,
            plan,
            model_version=str(champion.version),
            model_run_id=champion.run_id,
            backtest_metrics=champion.metrics,
            pit_history=champion.pit_history,
            options=options,
        )
        path = finish_report(report, champion, tracking_uri, options, out, step)
    if report.simulated:
        console.print(f"[bold yellow]{SIMULATED_LABEL}[/]")  # the command line speaks English
    return path


def finish_report(
    report: BenefitReport,
    champion: Any,
    tracking_uri: str | None,
    options: ReportOptions,
    out: Path,
    step: Any,
) -> Path:
    """The last steps of every report: the decision backtest's evidence, then the file."""
    from serving.report.render import write_report

    report.evidence = decision_evidence(champion, tracking_uri, options)
    step(5)
    return write_report(report, out)
