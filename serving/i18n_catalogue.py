"""Extract the planner-facing msgids and merge them into the catalogues.

    python -m serving.i18n_catalogue          # update serving/translations/*/*.po
    python -m serving.i18n_catalogue --check  # exit 1 when a catalogue is out of date

Two catalogues (gettext domains): ``messages`` for the pages, exports and everything else in
``serving``, and ``report`` for the benefit report (``serving/report``: its template and code).

Msgids come from the Jinja templates (``_("…")``, ``gettext``, ``ngettext``) and from the Python
code of ``serving`` (``_``, ``N_("…")`` and ``Message("…", name=value)``; ``gettext(language,
"…")`` is not extracted, so mark such strings with ``N_``). New msgids get an empty Norwegian
translation (the catalogue test then fails until someone writes it); English msgstrs stay empty,
so the English msgid is shown.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from serving.i18n import DOMAIN, LANGUAGES, REPORT_DOMAIN, catalogue_path

SERVING_DIR = Path(__file__).parent
METHOD_MAP = [
    ("app/templates/**.html", "jinja2"),
    ("report/**", "ignore"),  # the report's own catalogue (REPORT_METHOD_MAP)
    ("**.py", "python"),
]
REPORT_METHOD_MAP = [
    ("report/templates/**.html", "jinja2"),
    ("report/**.py", "python"),
]
KEYWORDS = {"_": None, "N_": None, "Message": None, "ngettext": (1, 2)}
OPTIONS = {
    "app/templates/**.html": {"extensions": "jinja2.ext.i18n"},
    "report/templates/**.html": {"extensions": "jinja2.ext.i18n"},
}
#: Where each catalogue's msgids come from.
DOMAINS = {DOMAIN: METHOD_MAP, REPORT_DOMAIN: REPORT_METHOD_MAP}


def extract(domain: str = DOMAIN) -> Catalog:
    """Every msgid of one catalogue used in the templates and marked in the Python code, with
    where it is."""
    catalogue = Catalog(project="bemanning", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(SERVING_DIR),
        method_map=DOMAINS[domain],
        options_map=OPTIONS,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        catalogue.add(
            message,
            None,
            [(filename, lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalogue


def merged(language: str, template: Catalog, domain: str = DOMAIN) -> Catalog:
    """The language's catalogue with ``template``'s msgids: kept translations stay, new msgids
    arrive untranslated, msgids no longer used are dropped."""
    path = catalogue_path(language, domain)
    if path.exists():
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=language)
    else:
        catalogue = Catalog(locale=language, project="bemanning", charset="utf-8")
    catalogue.update(template, no_fuzzy_matching=True)
    catalogue.obsolete.clear()
    return catalogue


def po_text(catalogue: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalogue, width=100, omit_header=False, sort_output=True, no_location=True)
    return buffer.getvalue()


def _body(text: bytes) -> bytes:
    """The catalogue without its header block (dates change on every write)."""
    return text.split(b"\n\n", 1)[-1]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    stale = []
    for domain in DOMAINS:
        template = extract(domain)
        for language in LANGUAGES:
            path = catalogue_path(language, domain)
            text = po_text(merged(language, template, domain))
            old = path.read_bytes() if path.exists() else b""
            if _body(text) != _body(old):
                stale.append(path)
                if not check:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(text)
        print(f"{domain}: {len(template)} msgids")
    for path in stale:
        print(f"{'out of date' if check else 'updated'}: {path}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
