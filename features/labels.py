"""Plain-language names, in bokmål and English, for every column the feature table and the
forecast frames can produce: the monthly values, their lags and means, the derived and district
features, the known-future calendar and population, and the target-specific history and
projections. Pages and exports show these instead of column codes ("share of the under-3s who
turn 3 this August", not ``known_u3_crossing_share``).

Each label has a unit, so a value can be formatted for people: ``share`` as a percentage,
``fte`` with one decimal, ``count`` whole, ``ratio`` with two decimals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from features.table import KNOWN_SUFFIX

Unit = Literal["count", "share", "fte", "places", "positions", "months", "ratio", "flag", "index"]


@dataclass(frozen=True)
class Label:
    nb: str
    en: str
    unit: Unit

    def text(self, language: str) -> str:
        return self.nb if language == "nb" else self.en


#: The monthly columns of the contract (and forecast targets).
MONTHLY: dict[str, Label] = {
    "children_under3": Label("barn under 3 år", "children under 3", "count"),
    "children_over3": Label("barn 3 år og eldre", "children aged 3 and over", "count"),
    "children_total": Label("barn i alt", "children in all", "count"),
    "waiting_list": Label("barn på venteliste", "children on the waiting list", "count"),
    "vedtak_31": Label(
        "vedtak om spesialpedagogisk hjelp (§ 31)", "special-needs decisions (§ 31)", "count"
    ),
    "vedtak_37": Label("vedtak om tilrettelegging (§ 37)", "adaptation decisions (§ 37)", "count"),
    "minority_language_share": Label(
        "andel minoritetsspråklige barn", "share of minority-language children", "share"
    ),
    "low_income_share": Label(
        "andel barn i lavinntektsfamilier", "share of children in low-income families", "share"
    ),
    "staff_fte": Label("grunnbemanning (årsverk)", "staff (FTE)", "fte"),
    "pedagogue_fte": Label("pedagoger (årsverk)", "pedagogues (FTE)", "fte"),
    "resource_pedagogue_fte": Label(
        "ressurspedagoger (årsverk)", "resource pedagogues (FTE)", "fte"
    ),
    "sick_leave_rate": Label("sykefravær", "sick leave", "share"),
    "staff_leavers": Label("ansatte som sluttet", "staff who left", "count"),
}

#: Features computed by the feature table from the monthly columns.
DERIVED: dict[str, Label] = {
    "capacity": Label("kapasitet (plasser)", "capacity (places)", "places"),
    "places_used": Label(
        "plasser i bruk (barn under 3 teller dobbelt)",
        "places in use (children under 3 count twice)",
        "places",
    ),
    "capacity_headroom_places": Label("ledige plasser", "free places", "places"),
    "capacity_utilisation": Label("kapasitetsutnyttelse", "share of capacity in use", "share"),
    "u3_crossing_next_august": Label(
        "barn under 3 som fyller 3 før neste august",
        "children under 3 who turn 3 before next August",
        "count",
    ),
    # the August intake mechanism (features.intake_mechanism)
    "places_free_after_next_august": Label(
        "ledige plasser etter neste august (anslag)",
        "free places after next August (estimate)",
        "places",
    ),
    "estimated_crossing_next_august": Label(
        "barn som går over 3 år neste august (anslag)",
        "children who cross the age-3 line next August (estimate)",
        "count",
    ),
    "estimated_school_leavers_next_summer": Label(
        "skolestartere neste sommer (anslag)",
        "children starting school next summer (estimate)",
        "count",
    ),
    "under3_intake_last_august": Label(
        "nye barn under 3 år sist august (anslag)",
        "new children under 3 last August (estimate)",
        "count",
    ),
    "places_used_change_last_august": Label(
        "endring i plasser i bruk fra juli til august i fjor",
        "change in places in use from July to last August",
        "places",
    ),
    "capacity_utilisation_last_august": Label(
        "kapasitetsutnyttelse sist august", "share of capacity in use last August", "share"
    ),
    "capacity_utilisation_peak_12m": Label(
        "høyeste kapasitetsutnyttelse siste 12 måneder",
        "highest share of capacity in use over the last 12 months",
        "share",
    ),
    "waiting_list_at_deadline": Label(
        "barn på venteliste ved søknadsfristen",
        "children on the waiting list at the application deadline",
        "count",
    ),
    "vedtak_31_per_child": Label("§ 31-vedtak per barn", "§ 31 decisions per child", "ratio"),
    "vedtak_37_per_child": Label("§ 37-vedtak per barn", "§ 37 decisions per child", "ratio"),
    "waiting_list_per_place": Label("venteliste per plass", "waiting list per place", "ratio"),
    "staff_norm_fte": Label(
        "bemanningsnormen krever (årsverk)", "staff the staffing norm requires (FTE)", "fte"
    ),
    "pedagogue_norm_positions": Label(
        "pedagognormen krever (stillinger)",
        "pedagogues the pedagogue norm requires (positions)",
        "positions",
    ),
    "staff_fte_minus_norm": Label(
        "grunnbemanning over bemanningsnormen (årsverk)",
        "staff above the staffing norm (FTE)",
        "fte",
    ),
    "staff_fte_per_norm": Label(
        "grunnbemanning i forhold til bemanningsnormen",
        "staff as a multiple of the staffing norm",
        "ratio",
    ),
    "staff_fte_per_norm_vs_level": Label(
        "grunnbemanning i forhold til normen, mot eget snitt siste 5 år",
        "staff as a multiple of the staffing norm, against its own 5-year mean",
        "ratio",
    ),
    "pedagogue_fte_minus_norm": Label(
        "pedagoger over pedagognormen (årsverk)",
        "pedagogues above the pedagogue norm (FTE)",
        "fte",
    ),
    "effective_staff_fte": Label(
        "bemanning etter sykefravær (årsverk)", "staff after sick leave (FTE)", "fte"
    ),
    "effective_staff_fte_minus_norm": Label(
        "bemanning etter sykefravær over bemanningsnormen (årsverk)",
        "staff after sick leave above the staffing norm (FTE)",
        "fte",
    ),
    "months_observed": Label("måneder med data", "months of data", "months"),
    "district_children": Label("barn i bydelen", "children in the district", "count"),
    "district_children_under3": Label(
        "barn under 3 i bydelen", "children under 3 in the district", "count"
    ),
    "share_of_district_children": Label(
        "barnehagens andel av bydelens barn",
        "the kindergarten's share of the district's children",
        "share",
    ),
    "district_vedtak_31_per_child": Label(
        "§ 31-vedtak per barn i bydelen", "§ 31 decisions per child in the district", "ratio"
    ),
    "district_vedtak_37_per_child": Label(
        "§ 37-vedtak per barn i bydelen", "§ 37 decisions per child in the district", "ratio"
    ),
    "district_waiting_list_per_child": Label(
        "venteliste per barn i bydelen", "waiting list per child in the district", "ratio"
    ),
    "district_sick_leave_rate_mean": Label(
        "sykefravær i bydelen (snitt)", "sick leave in the district (mean)", "share"
    ),
    "district_kindergartens_reporting": Label(
        "barnehager i bydelen med data", "kindergartens in the district with data", "count"
    ),
    # known-future: calendar and population, known for any month
    "known_population_1_5": Label(
        "barn 1–5 år bosatt i bydelen", "children aged 1–5 living in the district", "count"
    ),
    "known_population_1_5_growth": Label(
        "vekst i antall barn 1–5 år i bydelen",
        "growth of the district's children aged 1–5",
        "share",
    ),
    "known_population_0": Label(
        "barn under 1 år bosatt i bydelen", "children under 1 living in the district", "count"
    ),
    "known_population_1": Label(
        "ettåringer bosatt i bydelen", "one-year-olds living in the district", "count"
    ),
    "known_u3_crossing_share": Label(
        "andel av barna under 3 som fyller 3 før august",
        "share of the under-3s who turn 3 this August",
        "share",
    ),
    "known_is_august": Label("august (nytt barnehageår)", "August (new kindergarten year)", "flag"),
    "known_is_summer": Label("sommermåned", "summer month", "flag"),
    "known_calendar_month": Label("kalendermåned", "calendar month", "index"),
    "known_month_of_kg_year": Label(
        "måned i barnehageåret (august = 1)", "month of the kindergarten year (August = 1)", "index"
    ),
    "known_months_to_august": Label("måneder til august", "months until August", "months"),
    "known_kg_year": Label("barnehageår", "kindergarten year", "index"),
    "horizon": Label("måneder fram i tid", "months ahead", "months"),
}

#: Target-specific features of the forecast frames; ``{target}`` is the forecast quantity.
TARGET_FEATURES: dict[str, Label] = {
    "target_last": Label("{target} nå", "{target} now", "count"),
    "target_same_month_last_year": Label(
        "{target} samme måned i fjor", "{target} in the same month last year", "count"
    ),
    "target_change_same_span_last_year": Label(
        "endring i {target} over samme periode i fjor",
        "change in {target} over the same months last year",
        "count",
    ),
    "target_seasonal_level": Label(
        "vanlig nivå for {target} i målmåneden (5 års snitt og bydelens sesong)",
        "usual level of {target} in the target month (5-year mean and the district's season)",
        "count",
    ),
    "target_last_vs_seasonal_level": Label(
        "{target} nå mot vanlig nivå for måneden",
        "{target} now against the month's usual level",
        "count",
    ),
    "target_seasonal_projection_vs_last": Label(
        "forventet endring i {target} fra nå (vanlig nivå og det som varer av avviket)",
        "expected change in {target} from now (usual level and what lasts of the departure)",
        "count",
    ),
    "target_intake_projection_12m": Label(
        "{target} framskrevet med opptaksåret (nivå siste 12 mnd.)",
        "{target} projected through the intake year (level of the last 12 months)",
        "count",
    ),
    "target_intake_projection_36m": Label(
        "{target} framskrevet med opptaksåret (nivå siste 36 mnd.)",
        "{target} projected through the intake year (level of the last 36 months)",
        "count",
    ),
    "target_intake_projection_12m_full_group": Label(
        "{target} framskrevet fra full gruppe (siste 12 mnd.)",
        "{target} projected from a full group (last 12 months)",
        "count",
    ),
    "target_intake_projection_36m_full_group": Label(
        "{target} framskrevet fra full gruppe (siste 36 mnd.)",
        "{target} projected from a full group (last 36 months)",
        "count",
    ),
    "target_cohort_crossing_ahead": Label(
        "barn som fyller 3 innen prognosemåneden",
        "children who turn 3 before the forecast month",
        "count",
    ),
    "target_cohort_school_leavers_ahead": Label(
        "barn som begynner på skolen innen prognosemåneden",
        "children who start school before the forecast month",
        "count",
    ),
    "target_cohort_carry": Label(
        "barn som blir værende til prognosemåneden",
        "children who stay until the forecast month",
        "count",
    ),
    "target_cohort_carry_vs_base": Label(
        "barn som blir værende, mot utgangspunktet",
        "children who stay, against the starting point",
        "count",
    ),
    "target_under3_intake_ahead": Label(
        "barn under 3 som augustopptaket kan ta inn (søkere, ledige plasser)",
        "under-3s the August intake can take in (applicants, free places)",
        "count",
    ),
    "target_under3_after_intake": Label(
        "barn under 3 som blir værende, pluss augustopptaket",
        "under-3s who stay, plus the August intake",
        "count",
    ),
    "capacity_bound": Label(
        "plass til barn under 3 innenfor godkjent kapasitet",
        "room for under-3s within approved capacity",
        "count",
    ),
    "target_base": Label(
        "{target} videreført (grunnlaget)",
        "{target} carried forward (the base)",
        "count",
    ),
    "target_under3_after_intake_vs_base": Label(
        "barn under 3 etter augustopptaket, mot utgangspunktet",
        "under-3s after the August intake, against the starting point",
        "count",
    ),
}

_LAG = re.compile(r"^(?P<base>[a-z0-9_]+)_lag(?P<k>\d+)$")
_MEAN = re.compile(r"^(?P<base>[a-z0-9_]+)_mean_(?P<w>\d+)m$")
_TURNOVER = re.compile(r"^turnover_per_fte_year_(?P<w>\d+)m$")


def _base(name: str) -> Label | None:
    return MONTHLY.get(name) or DERIVED.get(name)


def column_label(name: str, *, target: str | None = None) -> Label:
    """The label of a feature, driver or target column; raises KeyError for a column no one has
    named yet (the catalogue test lists every column the feature table can produce)."""
    if (label := _base(name)) is not None:
        return label
    # a coarse or late source's column as it was known in the month (features/table.py)
    if name.endswith(KNOWN_SUFFIX) and (base := _base(name.removesuffix(KNOWN_SUFFIX))):
        return Label(f"{base.nb}, sist kjente", f"{base.en}, latest known", base.unit)
    if (match := _LAG.match(name)) and (base := _base(match["base"])):
        k = int(match["k"])
        return Label(
            f"{base.nb} for {k} {'måned' if k == 1 else 'måneder'} siden",
            f"{base.en} {k} {'month' if k == 1 else 'months'} ago",
            base.unit,
        )
    if (match := _MEAN.match(name)) and (base := _base(match["base"])):
        w = match["w"]
        return Label(
            f"{base.nb}, snitt siste {w} måneder",
            f"{base.en}, mean of the last {w} months",
            base.unit,
        )
    if match := _TURNOVER.match(name):
        w = match["w"]
        return Label(
            f"turnover per årsverk og år (siste {w} måneder)",
            f"staff turnover per FTE a year (last {w} months)",
            "ratio",
        )
    if name in TARGET_FEATURES:
        template = TARGET_FEATURES[name]
        quantity = _base(target) if target else None
        nb_target = quantity.nb if quantity else "prognosetallet"
        en_target = quantity.en if quantity else "the forecast quantity"
        return Label(
            template.nb.format(target=nb_target),
            template.en.format(target=en_target),
            quantity.unit if quantity and template.unit == "count" else template.unit,
        )
    raise KeyError(
        f"no plain-language label for the column {name!r} (add it to features/labels.py)"
    )


def feature_label(name: str, language: str = "nb", *, target: str | None = None) -> str:
    """The column's plain-language name in ``language``; an unknown column is shown with its
    underscores as spaces rather than as a code (and the catalogue test fails for it)."""
    try:
        return column_label(name, target=target).text(language)
    except KeyError:
        return name.replace("_", " ")


def feature_unit(name: str, *, target: str | None = None) -> Unit | None:
    try:
        return column_label(name, target=target).unit
    except KeyError:
        return None
