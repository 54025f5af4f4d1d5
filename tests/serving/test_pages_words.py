"""Pages in words (#15 items 6–7): every msgid has a bokmål translation with the same
placeholders, the catalogues are up to date with the templates and code, and no page — in
bokmål or English, for a planner or a viewer — shows a snake_case code, a Python dict, a number
in e-notation or a doubled "(simulated)"."""

from __future__ import annotations

import re

import pytest
from app_fixtures import DISTRICT_A, AppHarness, store_real_plan
from babel.messages.pofile import read_po
from page_text import code_words, visible_text

from serving import i18n_catalogue
from serving.i18n import LANGUAGE_COOKIE, LANGUAGES, catalogue_path, gettext
from serving.words import (
    ALLOCATION,
    BINDING,
    COLUMN,
    RESOURCE,
    column_word,
    forecast_source,
    word,
)

PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _catalogue(language: str):  # type: ignore[no-untyped-def]
    with catalogue_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def test_every_msgid_has_a_bokmal_translation_with_the_same_placeholders() -> None:
    catalogue = _catalogue("nb")
    messages = [m for m in catalogue if m.id]
    assert len(messages) > 200
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"no bokmål for {message.id!r}"
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(ids[-1])), message.id


def test_catalogues_hold_exactly_the_msgids_of_the_templates_and_code() -> None:
    assert i18n_catalogue.main(["--check"]) == 0
    template = i18n_catalogue.extract()
    for language in LANGUAGES:
        ids = {m.id for m in _catalogue(language) if m.id}
        assert ids == {m.id for m in template if m.id}


def test_domain_words_in_bokmal_and_english() -> None:
    assert word("nb", RESOURCE, "resource_pedagogue") == "Ressurspedagoger"
    assert word("nb", ALLOCATION, "proportional") == "Fordelingsnøkkel"
    assert word("nb", ALLOCATION, "plan_equity_0") == "Uten likhetsvekt"
    assert word("nb", ALLOCATION, "plan_risk_neutral") == "Risikonøytral"
    assert word("en", ALLOCATION, "proportional") == "Allocation key"
    assert word("nb", BINDING, "pool exhausted") == "Potten er brukt opp"
    assert column_word("nb", "unmet_staff_fte_months") == (
        "Udekket behov, grunnbemanning (årsverk-måneder)"
    )
    assert column_word("nb", "breach_months_staffing") == (
        "Barnehagemåneder med brudd på bemanningsnormen"
    )
    assert column_word("en", "extra_pedagogue_fte") == "Extra pedagogues (FTE)"
    assert column_word("nb", "sick_leave_rate") == "sykefravær"  # from features/labels.py
    assert word("nb", RESOURCE, "unknown_code") == "unknown code"  # never shown as a code
    for code in COLUMN:
        assert "_" not in column_word("nb", code) and "_" not in column_word("en", code)
    assert gettext("en", "Basic staff") == "Basic staff"


def test_forecast_source_in_words_from_the_fallback_reason() -> None:
    assert forecast_source("nb", None) == "modellprognose"
    assert forecast_source("nb", "recently opened: 5 months of data") == (
        "reserveprognose (kort historikk)"
    )
    assert forecast_source("nb", "gapped: no data for 2024-01 (last month with data 2023-10)") == (
        "reserveprognose (hull i dataene)"
    )
    assert forecast_source("en", "gapped: no value of vedtak_31 for 2024-01") == (
        "fallback forecast (gap in the data)"
    )


def _pages(harness: AppHarness, sim_district, plan_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    kg = sim_district.kindergartens
    kg_id = kg.loc[(kg["district"] == DISTRICT_A) & kg["closed"].isna(), "kindergarten_id"].iloc[0]
    return [
        "/",
        f"/kindergartens/{kg_id}",
        "/plans",
        f"/plans/{plan_id}",
        f"/plans/{plan_id}?show=all",
        f"/plans/diff?a={plan_id}&b={plan_id}",
        "/exports",
        "/dashboard",
        "/dashboard/sick_leave_rate",
        "/dashboard/turnover",
        "/dashboard/vedtak_31_share",
        "/dashboard/topi_concern_share",
        f"/dashboard/kindergartens/{kg_id}",
    ]


#: Error pages a planner meets, with their status and the words they must say in bokmål.
ERROR_PAGES = (
    ("/plans/no-such-plan", 404, "Planen 'no-such-plan' finnes ikke."),
    ("/kindergartens/NOPE", 404, "Barnehagen 'NOPE' finnes ikke."),
    ("/dashboard/no_such_figure", 404, "Nøkkeltallet 'no_such_figure' finnes ikke."),
)


@pytest.mark.slow
def test_pages_show_words_not_codes_in_both_languages(
    trained_harness: AppHarness, sim_district, baseline_forecasts
) -> None:  # type: ignore[no-untyped-def]
    plan_id = store_real_plan(trained_harness, sim_district, baseline_forecasts)
    anonymous = trained_harness.client_for(None)
    for language in LANGUAGES:  # the login page, before anyone is logged in
        anonymous.cookies.set(LANGUAGE_COOKIE, language)
        login_page = anonymous.get("/login")
        assert f'<html lang="{language}">' in login_page.text
        assert code_words(login_page.text) == {}, language
    # /docs is the API's reference for developers: its parameter names are the API's own
    for user in ("anna", "vera", "admin"):
        client = trained_harness.client_for(user)
        for language in LANGUAGES:
            client.cookies.set(LANGUAGE_COOKIE, language)
            for path in _pages(trained_harness, sim_district, plan_id):
                page = client.get(path)
                assert page.status_code == 200, (user, language, path, page.text[:500])
                fragment = path.startswith("/dashboard/kindergartens/")  # part of a page
                assert fragment or f'<html lang="{language}">' in page.text
                assert code_words(page.text) == {}, (user, language, path)
            for path, status, bokmal in ERROR_PAGES:
                page = client.get(path)
                assert page.status_code == status, (user, language, path)
                said = visible_text(page.text)
                # the page's own words carry no code; the id the planner asked for is quoted
                assert code_words(page.text.replace("no_such_figure", "")) == {}, (path, said)
                assert (bokmal in said) == (language == "nb"), (language, said)
    client = trained_harness.client_for("anna")
    nb_plan = visible_text(client.get(f"/plans/{plan_id}?show=all").text)
    assert "Fordelingsnøkkel" in nb_plan and "årsverk" in nb_plan and "Behov" in nb_plan
    assert "Hva som hindrer mer" in nb_plan and "binding" not in nb_plan
    client.cookies.set(LANGUAGE_COOKIE, "en")
    en_plan = visible_text(client.get(f"/plans/{plan_id}?show=all").text)
    assert "Allocation key" in en_plan and "What stops more" in en_plan
    _check_line_filters(client, plan_id)


def _check_line_filters(client, plan_id: str) -> None:  # type: ignore[no-untyped-def]
    """The plan page opens with the changed lines; filters by resource and approval."""
    lines = client.get(f"/api/plans/{plan_id}").json()["lines"]
    changed = [ln for ln in lines if abs(ln["change_fte"]) > 1e-9 or ln["overridden"]]

    def shown(query: str) -> int:
        return client.get(f"/plans/{plan_id}{query}").text.count('data-testid="line"')

    assert shown("") == len(changed)
    assert shown("?show=all") == len(lines)
    staff = sum(1 for ln in lines if ln["resource"] == "staff")
    assert shown("?show=all&resource=staff") == staff
    assert shown("?show=all&state=approved") == 0
    assert shown("?show=all&state=open") == len(lines)


def test_language_follows_the_setting_and_the_users_choice(harness: AppHarness) -> None:
    client = harness.client_for(None)
    assert '<html lang="nb">' in client.get("/login").text
    assert "Brukernavn" in client.get("/login").text
    chosen = client.get("/language?lang=en&next=/login")
    assert chosen.status_code == 303 and chosen.headers["location"] == "/login"
    assert "User name" in client.get("/login").text
    assert client.get("/language?lang=en&next=//evil.example").headers["location"] == "/"
    harness.app.state.settings.language = "en"
    fresh = harness.client_for(None)
    assert '<html lang="en">' in fresh.get("/login").text


def test_e_notation_is_found_in_numbers_and_not_in_a_plan_id() -> None:
    """A plan's ID ends in random hex (``…-4e428594``): a name, not a number in e-notation; a
    number written as 2.21e+03, −1e5 or 3E-7 is still flagged."""
    html = (
        "<title>Plan gamleoslo-20261207-4e428594 — bemanning</title>"
        "<p>2.21e+03 and -1e5, 3E-7; 2 positions</p>"
    )
    assert code_words(html)["e-notation"] == ["2.21e+03", "-1e5", "3E-7"]
    assert code_words("<p>Plan gamleoslo-20261207-4e428594</p>") == {}
