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

import json
from pathlib import Path

import numpy as np
import pandas as pd

from data.contract import District
from data.writers import file_frame

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


def write_raw_exports(district: District, out: Path) -> list[Path]:
    """Write ``district`` as raw exports and ``sources.toml`` into ``out``; return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tidy = coarse_form(district)
    kg = tidy.kindergartens.reset_index(drop=True)
    ids = kg["kindergarten_id"].astype(str)
    nsr = pd.Series([str(970_000_000 + 7_919 * i) for i in range(len(kg))], index=ids)
    hr = pd.Series([f"HR{40_000 + i}" for i in range(len(kg))], index=ids)
    name = pd.Series(kg["name"].astype(str).to_numpy(), index=ids)
    loose = pd.Series([_loose_name(n, i) for i, n in enumerate(name)], index=ids)
    monthly = tidy.monthly
    mid = monthly["kindergarten_id"].astype(str)
    months = monthly["month"]
    written: list[Path] = []
    sources: list[str] = []

    def csv(path: str, frame: pd.DataFrame, *, latin: bool = False) -> None:
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if latin:
            text = _comma_decimals(frame)
            text.to_csv(target, index=False, sep=";", encoding="latin-1")
        else:
            _exact(frame).to_csv(target, index=False, encoding="utf-8-sig")
        written.append(target)

    csv(
        "barnehager.csv",
        pd.DataFrame(
            {
                "Barnehage-ID": ids,
                "Navn": kg["name"],
                "Bydel": kg["district"],
                "Delbydel": kg.get("area"),
                "Godkjente plasser": kg["capacity"],
                "Åpnet": file_frame(kg[["opened"]])["opened"],
                "Nedlagt": file_frame(kg[["closed"]])["closed"],
            }
        ),
    )
    sources.append(
        _source(
            "barnehager.csv",
            "kindergartens",
            "Barnehage-ID",
            None,
            "month",
            0,
            {
                "Navn": "name",
                "Bydel": "district",
                "Delbydel": "area",
                "Godkjente plasser": "capacity",
                "Åpnet": "opened",
                "Nedlagt": "closed",
            },
        )
    )
    csv(
        "id_kobling.csv",
        pd.DataFrame({"kindergarten_id": ids, "nsr": nsr.values, "hr_enhet": hr.values}),
    )

    admissions = pd.DataFrame(
        {
            "NSR-nr": mid.map(nsr).to_numpy(),
            "Måned": months.dt.strftime("%m.%Y").to_numpy(),
            "Barn under 3 år": monthly["children_under3"].to_numpy(),
            "Barn over 3 år": monthly["children_over3"].to_numpy(),
            "Venteliste": monthly["waiting_list"].to_numpy(),
        }
    )
    (out / "opptak").mkdir(exist_ok=True)
    if len(admissions) <= XLSX_MAX_ROWS:
        admissions_file = "opptak/barn.xlsx"
        cells = admissions.astype(object).where(admissions.notna(), None)
        cells.to_excel(out / admissions_file, index=False, sheet_name="Barn", engine="openpyxl")
    else:
        admissions_file = "opptak/barn.parquet"
        admissions.to_parquet(out / admissions_file, index=False)
    written.append(out / admissions_file)
    sources.append(
        _source(
            admissions_file,
            "monthly",
            "NSR-nr",
            "Måned",
            "month",
            0,
            {
                "Barn under 3 år": "children_under3",
                "Barn over 3 år": "children_over3",
                "Venteliste": "waiting_list",
            },
            key_scheme="nsr",
            sheet="Barn" if admissions_file.endswith(".xlsx") else None,
        )
    )

    month_words = [f"{MONTH_NAMES[m.month - 1]} {m.year}" for m in months]
    csv(
        "ppt/vedtak.csv",
        pd.DataFrame(
            {
                "Barnehage": mid.map(loose).to_numpy(),
                "Måned": month_words,
                "Vedtak § 31": monthly["vedtak_31"].to_numpy(),
                "Vedtak § 37": monthly["vedtak_37"].to_numpy(),
            }
        ),
    )
    sources.append(
        _source(
            "ppt/vedtak.csv",
            "monthly",
            "Barnehage",
            "Måned",
            "month",
            0,
            {"Vedtak § 31": "vedtak_31", "Vedtak § 37": "vedtak_37"},
            key_scheme="name",
        )
    )

    csv(
        "hr/bemanning.csv",
        pd.DataFrame(
            {
                "Enhet": mid.map(hr).to_numpy(),
                "Periode": months.dt.strftime("%Y-%m").to_numpy(),
                "Årsverk totalt": monthly["staff_fte"].to_numpy(),
                "Årsverk pedagoger": monthly["pedagogue_fte"].to_numpy(),
                "Årsverk ressurspedagoger": monthly["resource_pedagogue_fte"].to_numpy(),
                "Sluttet": monthly["staff_leavers"].to_numpy(),
            }
        ),
        latin=True,
    )
    sources.append(
        _source(
            "hr/bemanning.csv",
            "monthly",
            "Enhet",
            "Periode",
            "month",
            0,
            {
                "Årsverk totalt": "staff_fte",
                "Årsverk pedagoger": "pedagogue_fte",
                "Årsverk ressurspedagoger": "resource_pedagogue_fte",
                "Sluttet": "staff_leavers",
            },
            key_scheme="hr_enhet",
        )
    )

    quarters = _first_per_period(monthly, "sick_leave_rate", "quarter")
    csv(
        "hr/sykefravaer.csv",
        pd.DataFrame(
            {
                "Enhet": quarters["kindergarten_id"].map(hr).to_numpy(),
                "Kvartal": [f"{m.year}K{(m.month - 1) // 3 + 1}" for m in quarters["month"]],
                "Sykefravær %": [f"{100 * v:.2f}" for v in quarters["sick_leave_rate"]],
            }
        ),
        latin=True,
    )
    sources.append(
        _source(
            "hr/sykefravaer.csv",
            "monthly",
            "Enhet",
            "Kvartal",
            "quarter",
            SICK_LEAVE_LAG,
            {"Sykefravær %": {"to": "sick_leave_rate", "scale": 0.01}},
            key_scheme="hr_enhet",
        )
    )

    shares = _first_per_period(monthly, ["minority_language_share", "low_income_share"], "year")
    csv(
        "levekaar/andeler.csv",
        pd.DataFrame(
            {
                "Barnehage": shares["kindergarten_id"].map(name).to_numpy(),
                "År": shares["month"].dt.year.to_numpy(),
                "Andel minoritetsspråklige": shares["minority_language_share"].to_numpy(),
                "Andel lavinntekt": shares["low_income_share"].to_numpy(),
            }
        ),
    )
    sources.append(
        _source(
            "levekaar/andeler.csv",
            "monthly",
            "Barnehage",
            "År",
            "year",
            SHARES_LAG,
            {
                "Andel minoritetsspråklige": "minority_language_share",
                "Andel lavinntekt": "low_income_share",
            },
            key_scheme="name",
        )
    )

    if tidy.population is not None:
        population = tidy.population
        headers = {"district": "Bydel", "area": "Delbydel", "population_1_5": "1–5 år"}
        headers.update({f"population_{a}": f"{a} år" for a in range(6)})
        present = {k: v for k, v in headers.items() if k in population.columns}
        frame = pd.DataFrame({v: population[k].to_numpy() for k, v in present.items()})
        frame.insert(2, "År", population["year"].to_numpy())
        csv("befolkning.csv", frame)
        mapping: dict[str, object] = {v: k for k, v in present.items()}
        sources.append(_source("befolkning.csv", "population", None, "År", "year", 0, mapping))

    if tidy.quality is not None:
        sources += _quality_files(tidy.quality, name, hr, csv)

    toml = ["# SIMULATED DATA — raw exports written by `bemanning simulate --raw`", ""]
    toml += ["[crosswalk]", 'file = "id_kobling.csv"', "", *sources]
    (out / "sources.toml").write_text("\n".join(toml), encoding="utf-8")
    written.append(out / "sources.toml")
    return written


def _quality_files(quality: pd.DataFrame, name: pd.Series, hr: pd.Series, csv) -> list[str]:  # type: ignore[no-untyped-def]
    sources = []
    wide = quality.pivot_table(
        index=["kindergarten_id", "month"], columns="indicator", values="value", aggfunc="first"
    ).reset_index()
    parent = wide.dropna(subset=[PARENT_HEADERS["Alt i alt fornøyd"]])
    csv(
        "undersokelser/foreldreundersokelsen.csv",
        pd.DataFrame(
            {
                "Barnehage": parent["kindergarten_id"].map(name).to_numpy(),
                "Undersøkelsesår": parent["month"].dt.year.to_numpy(),
                **{h: parent[i].to_numpy() for h, i in PARENT_HEADERS.items()},
            }
        ),
    )
    sources.append(
        _source(
            "undersokelser/foreldreundersokelsen.csv",
            "quality",
            "Barnehage",
            "Undersøkelsesår",
            "year",
            SURVEY_LAG,
            dict(PARENT_HEADERS),
            key_scheme="name",
        )
    )
    ten = wide.dropna(subset=[TEN_FACTOR_HEADERS["Oppgavemotivasjon"]])
    csv(
        "undersokelser/10-faktor.csv",
        pd.DataFrame(
            {
                "Enhet": ten["kindergarten_id"].map(hr).to_numpy(),
                "År": ten["month"].dt.year.to_numpy(),
                **{h: ten[i].to_numpy() for h, i in TEN_FACTOR_HEADERS.items()},
            }
        ),
        latin=True,
    )
    sources.append(
        _source(
            "undersokelser/10-faktor.csv",
            "quality",
            "Enhet",
            "År",
            "year",
            SURVEY_LAG,
            dict(TEN_FACTOR_HEADERS),
            key_scheme="hr_enhet",
        )
    )
    monthly = wide.dropna(subset=["hse_incidents"])
    csv(
        "hms/avvik.csv",
        pd.DataFrame(
            {
                "Barnehage-ID": monthly["kindergarten_id"].to_numpy(),
                "Måned": monthly["month"].dt.strftime("%Y-%m").to_numpy(),
                "Antall avvik": monthly["hse_incidents"].astype(int).to_numpy(),
            }
        ),
    )
    sources.append(
        _source(
            "hms/avvik.csv",
            "quality",
            "Barnehage-ID",
            "Måned",
            "month",
            0,
            {"Antall avvik": "hse_incidents"},
        )
    )
    cost = wide.dropna(subset=["special_pedagogy_cost"])
    csv(
        "okonomi/spesialpedagogikk.csv",
        pd.DataFrame(
            {
                "Enhet": cost["kindergarten_id"].map(hr).to_numpy(),
                "Periode": cost["month"].dt.strftime("%Y-%m").to_numpy(),
                "Kostnad (kr)": cost["special_pedagogy_cost"].to_numpy(),
            }
        ),
        latin=True,
    )
    sources.append(
        _source(
            "okonomi/spesialpedagogikk.csv",
            "quality",
            "Enhet",
            "Periode",
            "month",
            0,
            {"Kostnad (kr)": "special_pedagogy_cost"},
            key_scheme="hr_enhet",
        )
    )
    return sources


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


def _exact(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats as their shortest exact text (reads back bit for bit)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == "float64":
            values = out[column].to_numpy()
            text = values.astype(str).astype(object)
            text[np.isnan(values)] = None
            out[column] = text
    return out


def _comma_decimals(frame: pd.DataFrame) -> pd.DataFrame:
    out = _exact(frame)
    for column in out.columns:
        if frame[column].dtype == "float64":
            out[column] = out[column].str.replace(".", ",", regex=False)
    return out


def _source(
    file: str,
    table: str,
    key: str | None,
    period: str | None,
    every: str,
    lag: int,
    columns: dict[str, object],
    *,
    key_scheme: str | None = None,
    sheet: str | None = None,
) -> str:
    lines = ["[[source]]", f"file = {json.dumps(file)}", f"table = {json.dumps(table)}"]
    if sheet:
        lines.append(f"sheet = {json.dumps(sheet)}")
    if key:
        lines.append(f"key = {json.dumps(key, ensure_ascii=False)}")
    if key_scheme:
        lines.append(f"key_scheme = {json.dumps(key_scheme)}")
    if period:
        lines += [f"period = {json.dumps(period, ensure_ascii=False)}", f'every = "{every}"']
    lines += [f"published_after_months = {lag}", "[source.columns]"]
    for header, target in columns.items():
        if isinstance(target, dict):
            inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in target.items())
            value = "{ " + inner + " }"
        else:
            value = json.dumps(target)
        lines.append(f"{json.dumps(header, ensure_ascii=False)} = {value}")
    return "\n".join(lines) + "\n"
