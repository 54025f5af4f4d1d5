"""Planner-facing words in Norwegian bokmål (default) or English, through gettext catalogues.

The catalogues are the .po files in ``serving/translations/{lang}/LC_MESSAGES/messages.po``
(English msgids); they are compiled in memory the first time a language is asked for, so no
binary .mo file is committed. ``python -m serving.i18n_catalogue`` extracts the msgids from the
templates and the Python code and merges them into both catalogues.

A page's language: the user's choice (cookie :data:`LANGUAGE_COOKIE`, set by ``GET
/language?lang=en``), else ``Settings.language``. Templates call ``{{ _("English text") }}``,
with named placeholders as ``{{ _("%(n)s lines", n=count) }}`` (values are escaped).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from markupsafe import Markup, escape

from serving.formatting import format_nok, format_number, format_when

Language = Literal["nb", "en"]
LANGUAGES: tuple[Language, ...] = ("nb", "en")
DEFAULT_LANGUAGE: Language = "nb"
LANGUAGE_COOKIE = "bemanning_lang"
#: The environment variable that sets the language of the app (``Settings.language``) and of
#: the benefit report (``bemanning report --language``): one setting for both.
LANGUAGE_ENV = "BEMANNING_LANGUAGE"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DOMAIN = "messages"
#: The benefit report's own catalogue (serving/report), beside the pages' ``messages``: the
#: same mechanism, a file of its own so the two are kept apart.
REPORT_DOMAIN = "report"


def catalogue_path(language: str, domain: str = DOMAIN) -> Path:
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{domain}.po"


def as_language(value: object, default: Language = DEFAULT_LANGUAGE) -> Language:
    """``value`` if it names a supported language (``nb``/``en``; ``no``/``nob`` read as nb),
    else ``default``."""
    text = str(value or "").strip().lower()
    if text in ("no", "nob", "nb-no", "nb_no"):
        return "nb"
    if text in ("en-gb", "en_gb", "en-us", "en_us"):
        return "en"
    return cast(Language, text) if text in LANGUAGES else default


@functools.cache
def translations(language: str, domain: str = DOMAIN) -> Translations:
    """The language's catalogue, compiled from its .po file in memory (cached per process)."""
    path = catalogue_path(as_language(language), domain)
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=as_language(language))
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return Translations(fp=buffer, domain=domain)


def gettext(language: str, message: str, **variables: Any) -> str:
    """``message`` (an English msgid) in ``language``, ``%(name)s`` placeholders filled."""
    text = translations(language).ugettext(message)
    return text % variables if variables else text


def translator(language: str, domain: str = DOMAIN) -> Callable[..., str]:
    """``_(message, **variables)`` for one language and catalogue: the code calls it ``_`` so
    ``python -m serving.i18n_catalogue`` extracts its msgids."""
    catalogue = translations(language, domain)

    def _(message: str, **variables: Any) -> str:
        text = catalogue.ugettext(message)
        return text % variables if variables else text

    return _


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; translated where it is shown."""
    return message


class Message(str):
    """A message raised or returned in English (``str(message)``: the CLI, logs and the API
    read it as it is) that a page shows in its own language (:func:`say`): it keeps its msgid
    and the values of its ``%(name)s`` placeholders. A value that is a :class:`Message` itself
    is said in the same language. Extracted into the catalogues like ``N_``."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, /, **values: Any) -> Message:
        text = msgid % {k: _english(v) for k, v in values.items()} if values else msgid
        message = super().__new__(cls, text)
        message.msgid = msgid
        message.values = values
        return message

    def __getnewargs__(self) -> tuple[str]:  # type: ignore[override]
        return (str(self),)  # unpickled as English text; __dict__ restores msgid and values

    def in_language(self, language: str) -> str:
        values = {k: say(v, language) for k, v in self.values.items()}
        return gettext(language, self.msgid, **values)


class Fte(float):
    """A number of FTE inside a :class:`Message`: "1.5" in English, "1,5" in bokmål."""

    def __str__(self) -> str:
        return f"{float(self):g}"

    def in_language(self, language: str) -> str:
        return format_number(float(self), 1, language)


class Kroner(float):
    """An amount of NOK inside a :class:`Message`: "1,250,000 NOK" / "1 250 000 kr"."""

    def __str__(self) -> str:
        return f"{float(self):,.0f} NOK"

    def in_language(self, language: str) -> str:
        return format_nok(float(self), language)


class Moment:
    """A moment inside a :class:`Message`: "2026-12-06 14:05 UTC" as text (the API, the CLI), in
    Oslo time on a page ("6. des. 2026 kl. 15:05")."""

    def __init__(self, when: datetime) -> None:
        self.when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)

    def __str__(self) -> str:
        return f"{self.when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"

    def in_language(self, language: str) -> str:
        return format_when(self.when, language)


def _english(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def say(text: object, language: str) -> Any:
    """``text`` in ``language``: a :class:`Message` with its values (a list of them joined by
    "; "), a bare msgid (``N_``) from the catalogue, an :class:`Fte` or :class:`Kroner` in the
    language's number format; anything else (a name, an id) as it is."""
    if isinstance(text, list | tuple):
        return "; ".join(str(say(t, language)) for t in text)
    if isinstance(text, Message | Fte | Kroner | Moment):
        return text.in_language(language)
    if isinstance(text, str):
        return translations(language).ugettext(text) if text else text
    return text


def template_callables(language: str, domain: str = DOMAIN) -> dict[str, Callable[..., Any]]:
    """``_``, ``gettext`` and ``ngettext`` for a template rendered in ``language``, in the
    newstyle of ``jinja2.ext.i18n``: the translation is trusted markup, the variables are
    escaped."""
    catalogue = translations(language, domain)

    def _gettext(message: str, **variables: Any) -> Markup:
        text = Markup(catalogue.ugettext(message))
        return text % {k: escape(v) for k, v in variables.items()} if variables else text

    def _ngettext(singular: str, plural: str, n: int, **variables: Any) -> Markup:
        text = Markup(catalogue.ungettext(singular, plural, n))
        values = {"num": n} | variables
        return text % {k: escape(v) for k, v in values.items()}

    return {"_": _gettext, "gettext": _gettext, "ngettext": _ngettext}


def install(environment: Any) -> None:
    """Add ``jinja2.ext.i18n`` to a Jinja environment, with the default language's callables as
    globals (each render passes its own language's, see :func:`template_callables`)."""
    environment.add_extension("jinja2.ext.i18n")
    environment.globals.update(template_callables(DEFAULT_LANGUAGE))
