"""A plan's warnings in the reader's language.

The plan header keeps its warnings as the English sentences the engine wrote (the command line
prints them as they are, and a stored plan keeps them as text). A page or an export says each
one in its own language by matching it against :data:`TEMPLATES` — the sentences
``serving.planning`` writes and the reasons ``models.forecast.fallback`` and ``models.needs``
give — whose placeholders are said in turn (a target by its label, a reason by its template).
A sentence no template matches is shown as it is, never dropped."""

from __future__ import annotations

import re
from functools import cache

from serving import words
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

_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(_PLACEHOLDER.sub(r"(?P<\1>.+?)", re.escape(t))), t) for t in TEMPLATES)


def _say_value(name: str, value: str, language: str) -> str:
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
