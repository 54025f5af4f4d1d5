"""The benefit report's words and numbers in the reader's language: bokmål by default, English
by the same setting the app uses (``BEMANNING_LANGUAGE`` / ``bemanning report --language``).

Sentences are English msgids in the report's own gettext catalogue
(``serving/translations/{nb,en}/LC_MESSAGES/report.po``, extracted by
``python -m serving.i18n_catalogue``); the domain's shared words — allocations, resources,
norms, plan columns — come from :mod:`serving.words`, and numbers from
:mod:`serving.formatting`, so the report, the pages and the exports say the same thing the same
way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from babel.dates import format_date

from features.labels import feature_label
from serving import formatting, words
from serving.i18n import DEFAULT_LANGUAGE, N_, REPORT_DOMAIN, Language, translator

__all__ = [
    "DECIMALS",
    "DEFAULT_LANGUAGE",
    "SIMULATED",
    "Language",
    "allocation_word",
    "month_name",
    "norm_word",
    "report_words",
    "resource_word",
    "target_word",
    "written",
]

#: The simulated-data label (data.contract.SIMULATED_LABEL is its English; a test keeps the two
#: the same).
SIMULATED = N_("SIMULATED DATA — not real kindergartens")
#: How a figure of each kind is written: decimals and unit.
DECIMALS: dict[str, int] = {"nok": 0, "hours": 0, "fte": 1, "count": 0, "ratio": 2}
HOURS = N_("%(hours)s h")
SIGNED_NOK = N_("NOK %(amount)s")


def report_words(language: str) -> Callable[..., str]:
    """``_(msgid, **variables)`` in ``language`` from the report's catalogue."""
    return translator(language, REPORT_DOMAIN)


def allocation_word(language: str, name: str) -> str:
    """A compared allocation (plan, equity_0, risk_neutral, proportional, none, oracle …) as the
    pages name it."""
    return words.word(language, words.ALLOCATION, name)


def resource_word(language: str, resource: str) -> str:
    return words.word(language, words.RESOURCE, resource)


def norm_word(language: str, norm: str) -> str:
    return words.word(language, words.NORM, norm)


def target_word(language: str, target: str) -> str:
    """A forecast target in plain words, capitalised ("Barn under 3 år")."""
    text = feature_label(target, language)
    return text[:1].upper() + text[1:]


def written(value: float, kind: str, language: str, *, signed: bool = False) -> str:
    """A figure as the report writes it: NOK as "1 250 000 kr", hours as "1 234 t",
    FTE-months with one decimal, shares as per cent, in ``language``'s way."""
    if kind == "nok":
        if not signed or round(value) == 0:
            return formatting.format_nok(value, language)
        amount = formatting.format_number(value, 0, language, signed=True)
        return report_words(language)(SIGNED_NOK, amount=amount)
    if kind == "share":
        return formatting.format_percent(value, 1, language)
    if kind == "weight":  # a plan weight as given: "1", "0,25", "10"
        text = formatting.format_number(value, 2, language)
        return text.rstrip("0").rstrip(",.") if text[-3:-2] in ",." else text
    decimals = DECIMALS.get(kind, 1)
    signed = signed and round(value, decimals) != 0  # "0,0", not "+0,0"
    text = formatting.format_number(value, decimals, language, signed=signed)
    if kind == "hours":
        return report_words(language)(HOURS, hours=text)
    return text


def month_name(month: Any, language: str) -> str:
    """A month as a reader writes it: "januar 2025" / "January 2025"."""
    period = pd.Period(month, "M")
    locale = "nb_NO" if language == "nb" else "en_GB"
    return format_date(period.to_timestamp().date(), "LLLL y", locale=locale)
