"""The quality-indicator catalogue and the checks of the long ``quality`` table.

Each indicator has a label (bokmål, shown to planners), the source that brings it, its scale
(min, max), unit and whether higher is better. A district adds its own indicators with
``[indicator.<name>]`` tables in ``sources.toml`` (:func:`indicator_from_toml`).

Counts (health-and-safety incidents, unit "count") are masked under 5 wherever they are shown or
exported, like § 31/§ 37 decisions (``serving.report.privacy``), because a small count can point
at a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from data.contract_checks import mask_problems
from data.errors import Problem
from data.readers import RawTable
from data.schemas import MISSING_COLUMN, REQUIRED_EMPTY, UNKNOWN_KINDERGARTEN
from data.value_parsing import parse_column

Unit = Literal["score", "share", "count", "nok"]

QUALITY_COLUMNS = ("kindergarten_id", "month", "indicator", "value")
UNKNOWN_INDICATOR = "indicator is not in the catalogue"
OUTSIDE_SCALE = "value is outside the indicator's scale"
DUPLICATE_QUALITY = "duplicate (kindergarten_id, month, indicator)"


@dataclass(frozen=True)
class Indicator:
    """One quality indicator of the catalogue."""

    name: str
    label: str
    source: str
    low: float
    high: float | None
    unit: Unit
    higher_is_better: bool

    @property
    def scale_text(self) -> str:
        """The scale as a planner reads it, e.g. "1–5" or "0 og oppover"."""
        if self.unit == "share":
            return "0–100 %"
        if self.high is None:
            return f"{self.low:g} og oppover"
        return f"{self.low:g}–{self.high:g}"


def _survey(name: str, label: str, source: str, low: float, high: float) -> Indicator:
    return Indicator(name, label, source, low, high, "score", True)


_PARENT = "Foreldreundersøkelsen (Udir), svar fra foresatte, årlig"
_CLASS = "CLASS-observasjon, domeneskår"
_TEN_FACTOR = "10-faktor medarbeiderundersøkelse (KS), årlig"

CATALOGUE: dict[str, Indicator] = {
    i.name: i
    for i in (
        _survey("parent_survey_overall", "Foreldre: alt i alt fornøyd", _PARENT, 1, 5),
        _survey("parent_survey_wellbeing", "Foreldre: barnets trivsel", _PARENT, 1, 5),
        _survey("parent_survey_development", "Foreldre: barnets utvikling", _PARENT, 1, 5),
        _survey("parent_survey_environment", "Foreldre: ute- og innemiljø", _PARENT, 1, 5),
        _survey("parent_survey_information", "Foreldre: informasjon", _PARENT, 1, 5),
        _survey("class_emotional_support", "CLASS: emosjonell støtte", _CLASS, 1, 7),
        _survey("class_classroom_organisation", "CLASS: organisering", _CLASS, 1, 7),
        _survey("class_instructional_support", "CLASS: støtte for læring", _CLASS, 1, 7),
        Indicator(
            "topi_concern_share",
            "TOPI: andel barn med bekymring",
            "TOPI (Tidlig oppdagelse og innsats), kartlegging",
            0,
            1,
            "share",
            False,
        ),
        *(
            _survey(f"ten_factor_{key}", f"10-faktor: {label}", _TEN_FACTOR, 1, 5)
            for key, label in (
                ("task_motivation", "oppgavemotivasjon"),
                ("mastery_motivation", "mestringstro"),
                ("autonomy", "selvstendighet"),
                ("competence_use", "bruk av kompetanse"),
                ("mastery_management", "mestringsorientert ledelse"),
                ("role_clarity", "rolleklarhet"),
                ("collaboration", "relevant kompetanseutvikling"),
                ("fair_management", "fleksibilitetsvilje"),
                ("recognition", "mestringsklima"),
                ("organisational_commitment", "prososial motivasjon"),
            )
        ),
        Indicator(
            "hse_incidents",
            "HMS-avvik (meldte hendelser)",
            "HMS-avvikssystemet, antall per måned",
            0,
            None,
            "count",
            False,
        ),
        Indicator(
            "special_pedagogy_cost",
            "Kostnader til spesialpedagogisk hjelp og tilrettelegging",
            "Økonomisystemet, kroner per måned",
            0,
            None,
            "nok",
            False,
        ),
    )
}

#: Work-environment indicators tried as features for sick leave and turnover (benchmarks/).
WORK_ENVIRONMENT = tuple(n for n in CATALOGUE if n.startswith("ten_factor_"))
PARENT_SURVEY = tuple(n for n in CATALOGUE if n.startswith("parent_survey_"))


def indicator_from_toml(name: str, table: dict[str, object]) -> Indicator:
    """A district's own indicator from ``[indicator.<name>]``; raises ValueError on a bad entry."""
    unit = str(table.get("unit", "score"))
    if unit not in ("score", "share", "count", "nok"):
        raise ValueError(f"unit must be score, share, count or nok, not {unit!r}")
    low = float(table.get("min", 0))  # type: ignore[arg-type]
    high_value = table.get("max")
    high = None if high_value is None else float(high_value)  # type: ignore[arg-type]
    if high is not None and high <= low:
        raise ValueError(f"max {high:g} must be above min {low:g}")
    return Indicator(
        name=name,
        label=str(table.get("label", name)),
        source=str(table.get("source", "")),
        low=low,
        high=high,
        unit=unit,  # type: ignore[arg-type]
        higher_is_better=bool(table.get("higher_is_better", True)),
    )


def outside_scale(
    indicators: pd.Series, values: np.ndarray, catalogue: dict[str, Indicator]
) -> np.ndarray:
    """Rows whose value lies outside their indicator's scale (unknown indicators: not here)."""
    low = indicators.map(lambda n: catalogue[n].low if n in catalogue else -np.inf)
    high = indicators.map(
        lambda n: (
            (catalogue[n].high if catalogue[n].high is not None else np.inf)
            if n in catalogue
            else np.inf
        )
    )
    lows = low.to_numpy(dtype=float)
    highs = high.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return ~np.isnan(values) & ((values < lows) | (values > highs))


def check_quality(
    raw: RawTable, known_ids: pd.Index, catalogue: dict[str, Indicator]
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """A tidy ``quality`` table (file or in memory) parsed and checked against the catalogue."""
    frame = raw.frame
    problems = [
        Problem(file=raw.file, rule=MISSING_COLUMN, column=c, row=1)
        for c in QUALITY_COLUMNS
        if c not in frame.columns
    ]
    if problems or len(frame) == 0:
        return None, problems
    ids = parse_column(frame["kindergarten_id"], "id").values
    month = parse_column(frame["month"], "month")
    value = parse_column(frame["value"], "share", decimal_comma=raw.decimal_comma)
    indicator = parse_column(frame["indicator"], "text").values
    for parsed, column in ((month, "month"), (value, "value")):
        for mask, rule in parsed.failures:
            problems += mask_problems(raw, mask, column, rule, frame[column])
    for column, values in (("kindergarten_id", ids), ("month", month.values)):
        problems += mask_problems(raw, values.isna().to_numpy(), column, REQUIRED_EMPTY, None)
    unknown_id = (ids.notna() & ~ids.isin(known_ids)).to_numpy()
    problems += mask_problems(raw, unknown_id, "kindergarten_id", UNKNOWN_KINDERGARTEN, ids)
    unknown = (~indicator.isin(list(catalogue))).to_numpy()
    problems += mask_problems(raw, unknown, "indicator", UNKNOWN_INDICATOR, indicator)
    numbers = value.values.to_numpy(dtype=float, na_value=np.nan)
    outside = outside_scale(indicator, numbers, catalogue)
    problems += mask_problems(raw, outside, "value", OUTSIDE_SCALE, frame["value"])
    typed = pd.DataFrame(
        {"kindergarten_id": ids, "month": month.values, "indicator": indicator, "value": numbers}
    )
    key = pd.DataFrame(
        {"k": ids, "m": month.values.array.asi8, "i": indicator}  # type: ignore[attr-defined]
    )
    duplicated = key.duplicated().to_numpy()
    problems += mask_problems(
        raw, duplicated, "kindergarten_id, month, indicator", DUPLICATE_QUALITY, None
    )
    typed = typed.sort_values(["kindergarten_id", "month", "indicator"], kind="stable")
    return typed.reset_index(drop=True), problems
