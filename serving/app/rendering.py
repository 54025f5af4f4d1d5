"""How pages speak: the page's language (the user's choice, else ``Settings.language``), the
gettext callables for it, and Jinja filters that format numbers for people and turn codes into
words in that language.

Filters read the language from the template context (``language``), so a template writes
``{{ line.change_fte|fte(signed=True) }}``, ``{{ risk|pct }}`` or ``{{ line.resource|resource }}``
and never formats a number or shows a code itself.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from data.contract import SIMULATED_LABEL
from features.labels import feature_label, feature_unit
from models.allocation import EQUITY_COST_SHARE
from serving import formatting, words
from serving.i18n import (
    LANGUAGE_COOKIE,
    Language,
    as_language,
    gettext,
    install,
    say,
    template_callables,
)
from serving.key_figures import format_figure

#: Figures the plan options' help texts quote (serving/words.PLAN_OPTION), as shares
PLAN_OPTION_FIGURES = {"equity_weight": {"share": EQUITY_COST_SHARE}}

TEMPLATES_DIR = Path(__file__).parent / "templates"


def page_templates() -> Jinja2Templates:
    """The pages' templates with their globals and filters (the app's, and the process that
    prepares kindergarten pages ahead: serving.app.prepared)."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.globals["SIMULATED_LABEL"] = SIMULATED_LABEL
    install_filters(templates.env)  # gettext (per request language) and number/word filters
    return templates


def page_language(request: Request) -> Language:
    """The user's choice (cookie), else the app's setting."""
    default = as_language(request.app.state.settings.language)
    return as_language(request.cookies.get(LANGUAGE_COOKIE), default)


def language_context(language: Language) -> dict[str, Any]:
    """What a template rendered in ``language`` needs beside its data."""
    return {"language": language, **template_callables(language)}


def _lang(context: Context) -> str:
    return str(context.get("language") or "nb")


#: A feature's unit (features/labels.py) as the unit it is shown in.
_FEATURE_UNITS = {
    "share": "share",
    "fte": "fte",
    "places": "fte",
    "positions": "fte",
    "count": "count",
    "months": "count",
    "flag": "count",
}


def format_value(value: Any, unit: str | None, language: str) -> str:
    """A feature's value in its unit: shares as %, FTE with one decimal, counts whole, ratios with
    two decimals; text (e.g. a suppressed "<5") as it is."""
    if isinstance(value, str):
        return value
    return formatting.format_in_unit(value, _FEATURE_UNITS.get(unit or "", "number"), language)


def install_filters(environment: Environment) -> None:
    """The i18n extension and the formatting and wording filters."""
    install(environment)

    @pass_context
    def num(context: Context, value: Any, decimals: int = 0, signed: bool = False) -> str:
        return formatting.format_number(value, decimals, _lang(context), signed=signed)

    @pass_context
    def pct(context: Context, value: Any, decimals: int = 0) -> str:
        return formatting.format_percent(value, decimals, _lang(context))

    @pass_context
    def nok(context: Context, value: Any) -> str:
        return formatting.format_nok(value, _lang(context))

    @pass_context
    def say_filter(context: Context, text: Any) -> Any:
        """A :class:`serving.i18n.Message` or a catalogue msgid in the page's language."""
        return say(text, _lang(context))

    @pass_context
    def place(context: Context, name: Any) -> str:
        return words.place_name(_lang(context), name)

    @pass_context
    def in_unit(context: Context, value: Any, unit: str) -> str:
        return formatting.format_in_unit(value, unit, _lang(context))

    @pass_context
    def fte(context: Context, value: Any, signed: bool = False) -> str:
        return formatting.format_fte(value, _lang(context), signed=signed)

    @pass_context
    def count(context: Context, value: Any) -> str:
        return formatting.format_count(value, _lang(context))

    @pass_context
    def key_value(context: Context, value: Any, unit: str) -> str:
        return format_figure(value, unit, _lang(context))

    @pass_context
    def when(context: Context, value: datetime | None, time: bool = True) -> str:
        return formatting.format_when(value, _lang(context), time=time)

    @pass_context
    def feature(context: Context, name: str, target: str | None = None) -> str:
        return feature_label(str(name), _lang(context), target=target)

    @pass_context
    def feature_value(context: Context, value: Any, name: str, target: str | None = None) -> str:
        return format_value(value, feature_unit(str(name), target=target), _lang(context))

    @pass_context
    def column(context: Context, name: str) -> str:
        return words.column_word(_lang(context), str(name))

    def table_filter(table: dict[str, str]) -> Any:
        @pass_context
        def _word(context: Context, code: Any) -> str:
            return words.word(_lang(context), table, code)

        return _word

    def sentence(text: Any) -> str:
        """Upper-case first letter, the rest as it is ("§ 31", "NOK" stay)."""
        value = str(text)
        return value[:1].upper() + value[1:]

    def option_text(which: int) -> Any:
        @pass_context
        def _text(context: Context, name: str, fallback: str = "") -> str:
            texts = words.PLAN_OPTION.get(str(name))
            if not texts:
                return fallback
            language = _lang(context)
            text = gettext(language, texts[which])
            figures = PLAN_OPTION_FIGURES.get(str(name))
            if which == 1 and figures:  # the figure from its one definition, in the page's format
                text = text % {
                    k: formatting.format_percent(v, 1, language) for k, v in figures.items()
                }
            return text

        return _text

    environment.globals["zip"] = zip
    environment.filters["sentence"] = sentence
    environment.filters.update(
        num=num,
        pct=pct,
        nok=nok,
        fte=fte,
        in_unit=in_unit,
        place=place,
        say=say_filter,
        count=count,
        when=when,
        feature=feature,
        feature_value=feature_value,
        column=column,
        resource=table_filter(words.RESOURCE),
        plan_status=table_filter(words.PLAN_STATUS),
        allocation=table_filter(words.ALLOCATION),
        binding=table_filter(words.BINDING),
        audit_action=table_filter(words.AUDIT_ACTION),
        parameter=table_filter(words.PARAMETER),
        role=table_filter(words.ROLE),
        key_value=key_value,
        compared_with=table_filter(words.COMPARED_WITH),
        trend=table_filter(words.TREND),
        unit=table_filter(words.UNIT),
        option_label=option_text(0),
        option_help=option_text(1),
    )
