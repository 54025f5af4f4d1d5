"""The benefit report in the reader's language (#15 item 7): bokmål by default, in the domain's
words, with no English heading; English by the same setting the app uses; the same figures in
both; the report's catalogue complete and up to date."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from babel.messages.pofile import read_po
from report_fixtures import last_value_forecasts, small_district

from data.contract import SIMULATED_LABEL
from serving import i18n_catalogue
from serving.app.settings import Settings
from serving.i18n import DEFAULT_LANGUAGE, LANGUAGE_ENV, REPORT_DOMAIN, catalogue_path
from serving.planning import PlanRequest, build_plan
from serving.report.render import render_report_html
from serving.report.service import PLAN_FIELDS_GIVEN, ReportOptions, benefit_report_for_plan
from serving.report.wording import SIMULATED

PLACEHOLDER = re.compile(r"%\(\w+\)s")
#: Words a bokmål report must use (docs/DOMAIN.md: the planners' own words).
DOMAIN_WORDS = (
    "bemanningsnorm",
    "pedagognorm",
    "ressurspedagog",
    "vedtak",
    "sykefravær",
    "årsverk",
)


class Headings(HTMLParser):
    """Text of every heading, table caption and column header, and every data-value."""

    TAGS = ("h1", "h2", "th", "figcaption", "title", "dt")

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.values: list[str] = []
        self.lang = ""
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = str(a.get("lang"))
        if a.get("data-value") is not None:
            self.values.append(str(a["data-value"]))
        if tag in self.TAGS:
            self._open = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.TAGS and self._open is not None:
            self.texts.append(" ".join("".join(self._open).split()))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)


def _parsed(html: str) -> Headings:
    parser = Headings()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    """The same plan's report in the default language and in English."""
    district = small_district(seed=3, n_kindergartens=8)
    forecasts = last_value_forecasts(district)
    request = PlanRequest(
        pools={"staff": 3.0, "pedagogue": 1.0, "resource_pedagogue": 1.0}, n_scenarios=60
    )
    plan = build_plan(district, forecasts, request, model_version="test")
    metrics = pd.DataFrame(
        [
            (target, h, model, wape, 0.8, 50)
            for target in ("children_under3", "staff_leavers")
            for h in (1, 6)
            for model, wape in (("lightgbm", 0.05), ("seasonal_naive", 0.1), ("last_value", 0.09))
        ],
        columns=["target", "horizon", "model", "wape", "coverage_80", "n"],
    )
    out = {}
    for name, options in (
        ("default", ReportOptions(given=PLAN_FIELDS_GIVEN)),
        ("en", ReportOptions(given=PLAN_FIELDS_GIVEN, language="en")),
    ):
        report = benefit_report_for_plan(
            district,
            forecasts,
            request,
            plan,
            model_version="3",
            backtest_metrics=metrics,
            options=options,
            with_figures=False,
        )
        out[name] = render_report_html(report)
    return out


def _english_msgids() -> list[str]:
    """The report's English sentences and headings whose bokmål differs, as literal fragments
    (placeholders cut out) of at least 12 characters."""
    with catalogue_path("nb", REPORT_DOMAIN).open("rb") as handle:
        catalogue = read_po(handle, locale="nb")
    fragments = []
    for message in catalogue:
        if not message.id or message.string == message.id:
            continue
        for part in PLACEHOLDER.split(str(message.id).replace("%%", "%")):
            if len(part.strip()) >= 12:
                fragments.append(part.strip())
    return fragments


def test_the_report_is_in_bokmal_by_default_with_no_english_heading(
    rendered: dict[str, str],
) -> None:
    assert DEFAULT_LANGUAGE == "nb"
    nb, en = _parsed(rendered["default"]), _parsed(rendered["en"])
    assert nb.lang == "nb" and en.lang == "en"
    english = set(en.texts)
    # every heading, caption and column header differs from the English report's, except
    # names (places, plan ids) and the few words both languages share
    shared = {t for t in nb.texts if t in english}
    assert shared <= {"Plan", "Data", "MLflow run", "Pedagoger", ""} | {
        t for t in shared if not re.search(r"[a-z]{4}", t)
    }, shared - {"Plan", "Data"}
    assert "Gevinstrapport" in rendered["default"] and "Benefit report" not in rendered["default"]
    leaked = [f for f in _english_msgids() if f in rendered["default"]]
    assert not leaked, leaked
    for word in DOMAIN_WORDS:
        assert word in rendered["default"].lower(), word
    # a simulated kindergarten's name says so in the reader's language, as on the pages
    assert "(simulated)" not in rendered["default"] and "(simulert)" in rendered["default"]
    assert "(simulated)" in rendered["en"]


def test_english_by_the_setting(rendered: dict[str, str]) -> None:
    html = rendered["en"]
    assert "Benefit report" in html and "Gevinstrapport" not in html
    assert "Allocation key" in html and "Fordelingsnøkkel" not in html
    assert "SIMULATED DATA" in html


def test_the_figures_are_the_same_in_both_languages(rendered: dict[str, str]) -> None:
    nb, en = _parsed(rendered["default"]), _parsed(rendered["en"])
    assert nb.values and nb.values == en.values


def test_numbers_are_written_the_norwegian_way(rendered: dict[str, str]) -> None:
    body = re.sub(r"<style>.*?</style>", "", rendered["default"], flags=re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", body)  # tags, with their data-value attributes
    assert not re.search(r"\d\.\d", text), "bokmål writes a decimal comma"
    assert not re.search(r"\d[eE][+-]?\d", text), "no e-notation"
    assert "\u00a0kr" in text and "\u00a0%" in text
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), "no snake_case code on the page"


def test_the_app_and_the_report_share_one_language_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(dev=True).language == DEFAULT_LANGUAGE
    monkeypatch.setenv(LANGUAGE_ENV, "en")
    assert Settings(dev=True).language == "en"


def test_the_simulated_label_is_the_contracts() -> None:
    assert SIMULATED == SIMULATED_LABEL


def test_the_report_catalogue_is_complete_and_up_to_date() -> None:
    assert i18n_catalogue.main(["--check"]) == 0
    template = {m.id for m in i18n_catalogue.extract(REPORT_DOMAIN) if m.id}
    assert len(template) > 100
    for language in ("nb", "en"):
        with catalogue_path(language, REPORT_DOMAIN).open("rb") as handle:
            ids = {m.id for m in read_po(handle, locale=language) if m.id}
        assert ids == template
    with catalogue_path("nb", REPORT_DOMAIN).open("rb") as handle:
        for message in read_po(handle, locale="nb"):
            if message.id:
                assert message.string, f"no bokmål for {message.id!r}"
                assert set(PLACEHOLDER.findall(message.string)) == set(
                    PLACEHOLDER.findall(str(message.id))
                ), message.id
