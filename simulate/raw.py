"""The simulated district as a district's raw exports (``bemanning simulate OUT --raw``).

The same SIMULATED data set as several files from several "systems", each with Norwegian headers,
its own key and its own period, and a ``sources.toml`` tying them to the contract (CONTRACT.md,
"Raw exports"):

- ``barnehager.csv``: the kindergartens; ``id_kobling.csv``: the crosswalk (NSR number, HR unit);
- ``opptak/barn.xlsx`` (Parquet above :data:`XLSX_MAX_ROWS` rows): children and waiting list by
  NSR number, month as ``01.2024``;
- ``ppt/vedtak.csv``: § 31/§ 37 decisions by *name*, written loosely ("TØYEN BHG.", double spaces);
- ``hr/bemanning.csv`` and ``hr/sykefravaer.csv``: Latin-1, ``;`` and decimal commas, by HR unit;
  FTE and leavers monthly, sick leave quarterly in per cent, published a month after the quarter;
- ``levekaar/andeler.csv``: minority-language and low-income shares per year, by name, published
  six months after the year;
- ``befolkning.csv``: population by district/area and year;
- quality: the parent survey (yearly, by name), the 10-factor survey (yearly, by HR unit),
  health-and-safety incidents and special-pedagogy costs (monthly).

:func:`coarse_form` is the tidy data set these files hold (coarse columns as their period's value):
assembling the raw folder gives exactly it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.contract import District
from data.writers import file_frame, write_xlsx
from simulate.raw_folder import RawFolder, SourceSpec

XLSX_MAX_ROWS = 60_000
SICK_LEAVE_LAG = 1
SHARES_LAG = 6
SURVEY_LAG = 2
#: monthly column → (period kind, decimals of the coarse value)
COARSE_COLUMNS = {
    "sick_leave_rate": ("quarter", 4),
    "minority_language_share": ("year", 3),
    "low_income_share": ("year", 3),
}
PARENT_HEADERS = {
    "Alt i alt fornøyd": "parent_survey_overall",
    "Barnets trivsel": "parent_survey_wellbeing",
    "Barnets utvikling": "parent_survey_development",
    "Ute- og innemiljø": "parent_survey_environment",
    "Informasjon": "parent_survey_information",
}
TEN_FACTOR_HEADERS = {
    "Oppgavemotivasjon": "ten_factor_task_motivation",
    "Mestringstro": "ten_factor_mastery_motivation",
    "Selvstendighet": "ten_factor_autonomy",
    "Bruk av kompetanse": "ten_factor_competence_use",
    "Mestringsorientert ledelse": "ten_factor_mastery_management",
    "Rolleklarhet": "ten_factor_role_clarity",
    "Relevant kompetanseutvikling": "ten_factor_collaboration",
    "Fleksibilitetsvilje": "ten_factor_fair_management",
    "Mestringsklima": "ten_factor_recognition",
    "Prososial motivasjon": "ten_factor_organisational_commitment",
}
MONTH_NAMES = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
]


def coarse_form(district: District) -> District:
    """The tidy data set the raw exports hold: sick leave as its quarter's mean and the shares as
    their year's mean (rounded as exported), held for each month of the period."""
    monthly = district.monthly.copy()
    for column, (every, digits) in COARSE_COLUMNS.items():
        period = _period_key(monthly["month"], every)
        mean = monthly.groupby([monthly["kindergarten_id"], period])[column].transform("mean")
        monthly[column] = mean.round(digits)
    return District(
        kindergartens=district.kindergartens,
        monthly=monthly,
        population=district.population,
        simulated=district.simulated,
        source=district.source,
        quality=district.quality,
    )


def _period_key(months: pd.Series, every: str) -> pd.Series:
    if every == "quarter":
        return months.dt.year * 10 + (months.dt.month - 1) // 3 + 1
    return months.dt.year


@dataclass(frozen=True)
class _Keys:
    """Each kindergarten's key in each system, by kindergarten ID: its NSR number (admissions),
    HR unit (staffing, sick leave, the 10-factor survey, costs), name (shares, the parent survey)
    and the name as the PPT service writes it loosely (decisions)."""

    nsr: pd.Series
    hr: pd.Series
    name: pd.Series
    loose: pd.Series

    @classmethod
    def of(cls, kindergartens: pd.DataFrame) -> _Keys:
        ids = kindergartens["kindergarten_id"].astype(str)
        names = kindergartens["name"].astype(str).to_numpy()
        n = len(kindergartens)
        return cls(
            nsr=pd.Series([str(970_000_000 + 7_919 * i) for i in range(n)], index=ids),
            hr=pd.Series([f"HR{40_000 + i}" for i in range(n)], index=ids),
            name=pd.Series(names, index=ids),
            loose=pd.Series([_loose_name(v, i) for i, v in enumerate(names)], index=ids),
        )


def write_raw_exports(district: District, out: Path) -> list[Path]:
    """Write ``district`` as raw exports and ``sources.toml`` into ``out``; return the paths."""
    folder = RawFolder(Path(out))
    folder.out.mkdir(parents=True, exist_ok=True)
    tidy = coarse_form(district)
    kindergartens = tidy.kindergartens.reset_index(drop=True)
    keys = _Keys.of(kindergartens)
    _kindergarten_files(folder, kindergartens, keys)
    _admissions_file(folder, tidy.monthly, keys)
    _decisions_file(folder, tidy.monthly, keys)
    _hr_files(folder, tidy.monthly, keys)
    _shares_file(folder, tidy.monthly, keys)
    if tidy.population is not None:
        _population_file(folder, tidy.population)
    if tidy.quality is not None:
        _quality_files(folder, tidy.quality, keys)
    header = ["# SIMULATED DATA — raw exports written by `bemanning simulate --raw`", ""]
    return folder.finish([*header, "[crosswalk]", 'file = "id_kobling.csv"', ""])


def _kindergarten_files(folder: RawFolder, kg: pd.DataFrame, keys: _Keys) -> None:
    """The register of kindergartens and the crosswalk between the systems' keys."""
    ids = kg["kindergarten_id"].astype(str)
    register = pd.DataFrame(
        {
            "Barnehage-ID": ids,
            "Navn": kg["name"],
            "Bydel": kg["district"],
            "Delbydel": kg.get("area"),
            "Godkjente plasser": kg["capacity"],
            "Åpnet": file_frame(kg[["opened"]])["opened"],
            "Nedlagt": file_frame(kg[["closed"]])["closed"],
        }
    )
    columns: dict[str, object] = {
        "Navn": "name",
        "Bydel": "district",
        "Delbydel": "area",
        "Godkjente plasser": "capacity",
        "Åpnet": "opened",
        "Nedlagt": "closed",
    }
    folder.source(
        "barnehager.csv",
        register,
        SourceSpec("kindergartens", "Barnehage-ID", None, "month", 0, columns),
    )
    crosswalk = {"kindergarten_id": ids, "nsr": keys.nsr.values, "hr_enhet": keys.hr.values}
    folder.csv("id_kobling.csv", pd.DataFrame(crosswalk))


def _admissions_file(folder: RawFolder, monthly: pd.DataFrame, keys: _Keys) -> None:
    """Children and the waiting list by NSR number and month (``01.2024``): a workbook, or
    Parquet beyond :data:`XLSX_MAX_ROWS` rows."""
    mid = monthly["kindergarten_id"].astype(str)
    admissions = pd.DataFrame(
        {
            "NSR-nr": mid.map(keys.nsr).to_numpy(),
            "Måned": monthly["month"].dt.strftime("%m.%Y").to_numpy(),
            "Barn under 3 år": monthly["children_under3"].to_numpy(),
            "Barn over 3 år": monthly["children_over3"].to_numpy(),
            "Venteliste": monthly["waiting_list"].to_numpy(),
        }
    )
    (folder.out / "opptak").mkdir(exist_ok=True)
    if len(admissions) <= XLSX_MAX_ROWS:
        path, sheet = "opptak/barn.xlsx", "Barn"
        write_xlsx(admissions, folder.out / path, sheet=sheet)
    else:
        path, sheet = "opptak/barn.parquet", None
        admissions.to_parquet(folder.out / path, index=False)
    folder.written.append(folder.out / path)
    columns: dict[str, object] = {
        "Barn under 3 år": "children_under3",
        "Barn over 3 år": "children_over3",
        "Venteliste": "waiting_list",
    }
    spec = SourceSpec("monthly", "NSR-nr", "Måned", "month", 0, columns, "nsr", sheet)
    folder.sources.append(spec.toml(path))


def _decisions_file(folder: RawFolder, monthly: pd.DataFrame, keys: _Keys) -> None:
    """§ 31/§ 37 decisions by the name as the PPT service writes it, month in words."""
    mid = monthly["kindergarten_id"].astype(str)
    frame = pd.DataFrame(
        {
            "Barnehage": mid.map(keys.loose).to_numpy(),
            "Måned": [f"{MONTH_NAMES[m.month - 1]} {m.year}" for m in monthly["month"]],
            "Vedtak § 31": monthly["vedtak_31"].to_numpy(),
            "Vedtak § 37": monthly["vedtak_37"].to_numpy(),
        }
    )
    columns: dict[str, object] = {"Vedtak § 31": "vedtak_31", "Vedtak § 37": "vedtak_37"}
    spec = SourceSpec("monthly", "Barnehage", "Måned", "month", 0, columns, "name")
    folder.source("ppt/vedtak.csv", frame, spec)


def _hr_files(folder: RawFolder, monthly: pd.DataFrame, keys: _Keys) -> None:
    """The HR system's FTE and leavers monthly, and sick leave quarterly in per cent, published
    :data:`SICK_LEAVE_LAG` month after the quarter; Latin-1 with decimal commas."""
    mid = monthly["kindergarten_id"].astype(str)
    staffing = pd.DataFrame(
        {
            "Enhet": mid.map(keys.hr).to_numpy(),
            "Periode": monthly["month"].dt.strftime("%Y-%m").to_numpy(),
            "Årsverk totalt": monthly["staff_fte"].to_numpy(),
            "Årsverk pedagoger": monthly["pedagogue_fte"].to_numpy(),
            "Årsverk ressurspedagoger": monthly["resource_pedagogue_fte"].to_numpy(),
            "Sluttet": monthly["staff_leavers"].to_numpy(),
        }
    )
    columns: dict[str, object] = {
        "Årsverk totalt": "staff_fte",
        "Årsverk pedagoger": "pedagogue_fte",
        "Årsverk ressurspedagoger": "resource_pedagogue_fte",
        "Sluttet": "staff_leavers",
    }
    spec = SourceSpec("monthly", "Enhet", "Periode", "month", 0, columns, "hr_enhet")
    folder.source("hr/bemanning.csv", staffing, spec, latin=True)

    quarters = _first_per_period(monthly, "sick_leave_rate", "quarter")
    sick_leave = pd.DataFrame(
        {
            "Enhet": quarters["kindergarten_id"].map(keys.hr).to_numpy(),
            "Kvartal": [f"{m.year}K{(m.month - 1) // 3 + 1}" for m in quarters["month"]],
            "Sykefravær %": [f"{100 * v:.2f}" for v in quarters["sick_leave_rate"]],
        }
    )
    columns = {"Sykefravær %": {"to": "sick_leave_rate", "scale": 0.01}}
    spec = SourceSpec("monthly", "Enhet", "Kvartal", "quarter", SICK_LEAVE_LAG, columns, "hr_enhet")
    folder.source("hr/sykefravaer.csv", sick_leave, spec, latin=True)


def _shares_file(folder: RawFolder, monthly: pd.DataFrame, keys: _Keys) -> None:
    """Minority-language and low-income shares per year by name, published
    :data:`SHARES_LAG` months after the year."""
    shares = _first_per_period(monthly, ["minority_language_share", "low_income_share"], "year")
    frame = pd.DataFrame(
        {
            "Barnehage": shares["kindergarten_id"].map(keys.name).to_numpy(),
            "År": shares["month"].dt.year.to_numpy(),
            "Andel minoritetsspråklige": shares["minority_language_share"].to_numpy(),
            "Andel lavinntekt": shares["low_income_share"].to_numpy(),
        }
    )
    columns: dict[str, object] = {
        "Andel minoritetsspråklige": "minority_language_share",
        "Andel lavinntekt": "low_income_share",
    }
    spec = SourceSpec("monthly", "Barnehage", "År", "year", SHARES_LAG, columns, "name")
    folder.source("levekaar/andeler.csv", frame, spec)


def _population_file(folder: RawFolder, population: pd.DataFrame) -> None:
    """Population by district, area and year (ages 0–5 and 1–5 where present)."""
    headers = {"district": "Bydel", "area": "Delbydel", "population_1_5": "1–5 år"}
    headers.update({f"population_{a}": f"{a} år" for a in range(6)})
    present = {k: v for k, v in headers.items() if k in population.columns}
    frame = pd.DataFrame({v: population[k].to_numpy() for k, v in present.items()})
    frame.insert(2, "År", population["year"].to_numpy())
    columns: dict[str, object] = {v: k for k, v in present.items()}
    folder.source("befolkning.csv", frame, SourceSpec("population", None, "År", "year", 0, columns))


def _quality_files(folder: RawFolder, quality: pd.DataFrame, keys: _Keys) -> None:
    """The parent survey (yearly, by name) and the 10-factor survey (yearly, by HR unit), both
    published :data:`SURVEY_LAG` months after the year; health-and-safety incidents (monthly,
    by ID) and special-pedagogy costs (monthly, by HR unit)."""
    wide = quality.pivot_table(
        index=["kindergarten_id", "month"], columns="indicator", values="value", aggfunc="first"
    ).reset_index()
    parent = wide.dropna(subset=[PARENT_HEADERS["Alt i alt fornøyd"]])
    frame = pd.DataFrame(
        {
            "Barnehage": parent["kindergarten_id"].map(keys.name).to_numpy(),
            "Undersøkelsesår": parent["month"].dt.year.to_numpy(),
            **{h: parent[i].to_numpy() for h, i in PARENT_HEADERS.items()},
        }
    )
    spec = SourceSpec(
        "quality", "Barnehage", "Undersøkelsesår", "year", SURVEY_LAG, dict(PARENT_HEADERS), "name"
    )
    folder.source("undersokelser/foreldreundersokelsen.csv", frame, spec)

    ten = wide.dropna(subset=[TEN_FACTOR_HEADERS["Oppgavemotivasjon"]])
    frame = pd.DataFrame(
        {
            "Enhet": ten["kindergarten_id"].map(keys.hr).to_numpy(),
            "År": ten["month"].dt.year.to_numpy(),
            **{h: ten[i].to_numpy() for h, i in TEN_FACTOR_HEADERS.items()},
        }
    )
    spec = SourceSpec(
        "quality", "Enhet", "År", "year", SURVEY_LAG, dict(TEN_FACTOR_HEADERS), "hr_enhet"
    )
    folder.source("undersokelser/10-faktor.csv", frame, spec, latin=True)

    incidents = wide.dropna(subset=["hse_incidents"])
    frame = pd.DataFrame(
        {
            "Barnehage-ID": incidents["kindergarten_id"].to_numpy(),
            "Måned": incidents["month"].dt.strftime("%Y-%m").to_numpy(),
            "Antall avvik": incidents["hse_incidents"].astype(int).to_numpy(),
        }
    )
    spec = SourceSpec(
        "quality", "Barnehage-ID", "Måned", "month", 0, {"Antall avvik": "hse_incidents"}
    )
    folder.source("hms/avvik.csv", frame, spec)

    cost = wide.dropna(subset=["special_pedagogy_cost"])
    frame = pd.DataFrame(
        {
            "Enhet": cost["kindergarten_id"].map(keys.hr).to_numpy(),
            "Periode": cost["month"].dt.strftime("%Y-%m").to_numpy(),
            "Kostnad (kr)": cost["special_pedagogy_cost"].to_numpy(),
        }
    )
    columns: dict[str, object] = {"Kostnad (kr)": "special_pedagogy_cost"}
    spec = SourceSpec("quality", "Enhet", "Periode", "month", 0, columns, "hr_enhet")
    folder.source("okonomi/spesialpedagogikk.csv", frame, spec, latin=True)


def _first_per_period(monthly: pd.DataFrame, columns: str | list[str], every: str) -> pd.DataFrame:
    """One row per kindergarten and period (the coarse form holds one value per period)."""
    columns = [columns] if isinstance(columns, str) else columns
    period = _period_key(monthly["month"], every)
    first = ~pd.DataFrame({"k": monthly["kindergarten_id"], "p": period}).duplicated()
    rows = monthly.loc[first.to_numpy(), ["kindergarten_id", "month", *columns]]
    return rows.dropna(subset=columns, how="all").reset_index(drop=True)


def _loose_name(name: str, i: int) -> str:
    """A name as another system writes it: upper case with "BHG.", doubled spaces, or as is."""
    if i % 3 == 0:
        return name.upper().replace("BARNEHAGE", "BHG.")
    if i % 3 == 1:
        return name.replace(" barnehage", "  bhg").replace(" ", "  ", 1)
    return name
