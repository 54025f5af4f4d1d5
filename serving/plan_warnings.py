"""A plan's warnings in the reader's language.

The plan header keeps its warnings as the English sentences the engine wrote (the command line
prints them as they are, and a stored plan keeps them as text). A page or an export says each
one in its own language by matching it against :data:`TEMPLATES` — the sentences
``serving.planning`` writes and the reasons ``models.forecast.fallback`` and ``models.needs``
give — whose placeholders are said in turn (a target by its label, a reason by its template).
A sentence no template matches is shown as it is, never dropped.

A page shows them with :func:`warning_lines`: kindergartens by their names, and the
kindergartens one warning names alike (e.g. twelve on a fallback forecast for the same reason)
in one line, so a plan with many of them does not bury the others."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from serving import formatting, words
from serving.i18n import N_, gettext

# the sentences serving.planning writes (it fills them with ``%``)
NO_FORECAST_FOR = N_("no forecast for %(kindergarten)s: left out of the plan")
NO_MONTHLY_DATA_FOR = N_("no monthly data for %(kindergarten)s: left out of the plan")
FALLBACK_FOR = N_("fallback forecast for %(kindergarten)s (%(reason)s)")
FALLBACK_OF = N_("fallback forecast of %(target)s (%(reason)s)")
TIME_LIMIT = N_("the solver stopped at its %(seconds)s s time limit: best plan found, %(within)s")
WITHIN_GAP = N_("within %(gap)s of optimal")
NO_BOUND = N_("no bound on how far from optimal yet")
INFEASIBLE = N_(
    "the request is infeasible: %(name)s exceeded by %(amount)s (the nearest plan is shown)"
)

#: every warning (and nested reason) the engine writes, as catalogue msgids; the last five are
#: written in models/ (which cannot import this module) and tested against it
TEMPLATES: tuple[str, ...] = (
    NO_FORECAST_FOR,
    NO_MONTHLY_DATA_FOR,
    FALLBACK_FOR,
    FALLBACK_OF,
    TIME_LIMIT,
    WITHIN_GAP,
    NO_BOUND,
    INFEASIBLE,
    N_("no forecast of %(target)s: taken as 0 in every scenario"),
    N_("gapped: no data for %(month)s (last month with data %(last)s)"),
    N_("recently opened: %(months)s months of data"),
    N_("gapped: no value of %(targets)s for %(month)s"),
    N_("the model has no forecast of it: peers' rates for every kindergarten"),
)

#: several kindergartens under one warning: the grouped sentence of each per-kindergarten one
GROUPED = {
    NO_FORECAST_FOR: N_(
        "no forecast for %(n)s kindergartens, left out of the plan: %(kindergartens)s"
    ),
    NO_MONTHLY_DATA_FOR: N_(
        "no monthly data for %(n)s kindergartens, left out of the plan: %(kindergartens)s"
    ),
    FALLBACK_FOR: N_("fallback forecast for %(n)s kindergartens (%(reason)s): %(kindergartens)s"),
}
#: the solver's names of what a request exceeds (models/allocation/milp.py), in words
_POOL = N_("the pool of %(resource)s (FTE)")
EXCEEDED = {
    "budget (million NOK)": N_("the budget (million NOK)"),
    "max moves": N_("the most lines to move FTE out of"),
}

_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(_PLACEHOLDER.sub(r"(?P<\1>.+?)", re.escape(t))), t) for t in TEMPLATES)


def _say_value(name: str, value: str, language: str) -> str:
    if name == "name":
        if value.startswith("pool "):
            resource = words.word(language, words.RESOURCE, value.removeprefix("pool ")).lower()
            return gettext(language, _POOL, resource=resource)
        return gettext(language, EXCEEDED[value]) if value in EXCEEDED else value
    if name == "amount":
        return formatting.format_number(float(value), 1, language)
    if name == "gap":
        return formatting.format_percent(float(value.rstrip("%")) / 100, 2, language)
    if name == "target":
        return words.column_word(language, value)
    if name == "targets":
        return ", ".join(words.column_word(language, v.strip()) for v in value.split(","))
    if name in ("reason", "within"):
        return say_warning(value, language)
    return value


def say_warning(text: str, language: str) -> str:
    """``text`` (one warning as the engine wrote it) in ``language``."""
    for pattern, msgid in _patterns():
        match = pattern.fullmatch(text)
        if match is not None:
            values = {k: _say_value(k, v, language) for k, v in match.groupdict().items()}
            return gettext(language, msgid, **values)
    return text


def _match(text: str) -> tuple[str, dict[str, str]] | None:
    for pattern, msgid in _patterns():
        match = pattern.fullmatch(text)
        if match is not None:
            return msgid, match.groupdict()
    return None


def warning_lines(
    warnings: list[str], language: str, names: Mapping[str, str] | None = None
) -> list[str]:
    """The plan's warnings as a page lists them: each in ``language``, a kindergarten by its
    name (``names``: id → name), and the kindergartens of one warning (the same reason) in one
    line, in the order the warnings first come."""
    names = names or {}
    groups: dict[tuple[str, str], list[str]] = {}
    lines: list[str | tuple[str, str]] = []
    for text in warnings:
        matched = _match(str(text))
        if matched is None or matched[0] not in GROUPED:
            lines.append(say_warning(str(text), language))
            continue
        msgid, values = matched
        key = (msgid, values.get("reason", ""))
        if key not in groups:
            groups[key] = []
            lines.append(key)
        groups[key].append(
            words.place_name(language, names.get(values["kindergarten"], values["kindergarten"]))
        )
    out = []
    for line in lines:
        if isinstance(line, str):
            out.append(line)
            continue
        msgid, reason = line
        members = groups[line]
        said = {"reason": say_warning(reason, language)} if reason else {}
        if len(members) == 1:
            out.append(gettext(language, msgid, kindergarten=members[0], **said))
        else:
            out.append(
                gettext(
                    language,
                    GROUPED[msgid],
                    n=len(members),
                    kindergartens=", ".join(members),
                    **said,
                )
            )
    return out
