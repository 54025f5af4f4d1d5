"""Render a :class:`~serving.report.numbers.BenefitReport` as one self-contained HTML file.

The template sits beside this module; autoescaping is on, images are ``data:`` URIs and the
style is inline, so the file needs no network and no other file to open. Its words come from
the report's gettext catalogue in the report's language (``_()`` in the template).
"""

from __future__ import annotations

from pathlib import Path

from serving.i18n import REPORT_DOMAIN, template_callables
from serving.report.numbers import BenefitReport

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "benefit_report.html"


def render_report_html(report: BenefitReport) -> str:
    """The whole report as an HTML string."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    words = template_callables(report.language, REPORT_DOMAIN)
    return environment.get_template(TEMPLATE_NAME).render(r=report, **words)


def write_report(report: BenefitReport, path: Path) -> Path:
    """Write the report to ``path`` (folders created) and return the absolute path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report_html(report), encoding="utf-8")
    return path.resolve()
