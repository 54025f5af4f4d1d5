"""Scoring allocations on what happened: the realised needs of a past plan period.

A plan made at an origin is judged on the months that followed, as one scenario — the
realised children, decisions and sick leave under the norms (:func:`realised_needs`). Measures
(:func:`realised_outcome`), all unweighted, so the equity weight and the optimiser's own weights
are judged by what they buy, not by themselves:

* unmet FTE-months per resource: staff against the staffing norm on *effective* supply
  (contracted × (1 − realised sick leave)), pedagogues against the pedagogue norm in whole
  positions on paper, resource pedagogues against the § 31/§ 37 hours on effective supply;
* kindergarten-months in breach of each norm (a shortfall of more than :data:`BREACH_TOLERANCE`);
* substitute hours and cost: the unmet staff and § 31/§ 37 FTE-months someone must cover
  (:data:`SUBSTITUTE_RESOURCES`) in hours, at :data:`DEFAULT_SUBSTITUTE_COST_NOK_PER_HOUR`.

The substitute constants live here, once: the benefit report imports them.

Regret = (x − oracle) / (key − oracle) in total unmet FTE-months: the proportional key is 1, the
perfect-information oracle (the same optimiser on the realised needs) is 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH, RESOURCES
from models.allocation import shortfalls
from models.needs import NEED_TARGETS, NeedScenarios

#: Resources whose unmet FTE-months are hours someone must cover: staff shortfall is effective
#: (sick leave included) and is what substitutes cover; § 31/§ 37 hours not delivered need extra
#: hands too. The pedagogue shortfall is whole positions *on paper*: a sick pedagogue's hours are
#: already in the staff shortfall (pedagogues count as staff), so counting it again would double
#: count; it is reported as a quality benefit (norm breaches) instead.
SUBSTITUTE_RESOURCES = ("staff", "resource_pedagogue")
WEEKS_PER_MONTH = 52 / 12
HOURS_PER_WEEK_PER_FTE = 37.5
#: Default cost of one substitute hour in NOK: an assistant's hourly pay with holiday pay,
#: pension and employer's tax (about 250 NOK + 40 %); an assumption, stated where it is used.
DEFAULT_SUBSTITUTE_COST_NOK_PER_HOUR = 350.0
#: a shortfall below this (FTE or positions) is rounding, not a breach
BREACH_TOLERANCE = 1e-6
#: the norm behind each resource's shortfall (keys of :func:`models.allocation.shortfalls`)
NORM_OF_RESOURCE = {
    "staff": "staffing",
    "pedagogue": "pedagogue",
    "resource_pedagogue": "special_needs",
}


def realised_needs(
    monthly: pd.DataFrame,
    kindergarten_ids: tuple[str, ...],
    months: pd.PeriodIndex,
    current_fte: np.ndarray,
) -> NeedScenarios:
    """The realised months as one scenario (1, K, M). A kindergarten-month without a row (a
    kindergarten closed, or a gap) counts as no need — the same for every allocation compared."""
    frame = monthly.set_index([KINDERGARTEN_ID, MONTH])
    full = pd.MultiIndex.from_product(
        [list(kindergarten_ids), list(months)], names=[KINDERGARTEN_ID, MONTH]
    )
    values = {}
    for target in NEED_TARGETS:
        column = frame[target] if target in frame else pd.Series(np.nan, index=frame.index)
        grid = pd.to_numeric(column, errors="coerce").astype(float).reindex(full).fillna(0.0)
        values[target] = grid.to_numpy().reshape(1, len(kindergarten_ids), len(months))
    return NeedScenarios(
        kindergarten_ids=tuple(kindergarten_ids),
        months=months,
        current_fte=np.asarray(current_fte, dtype=float),
        source="realised",
        children_under3=values["children_under3"],
        children_over3=values["children_over3"],
        vedtak_31=values["vedtak_31"],
        vedtak_37=values["vedtak_37"],
        sick_leave_rate=values["sick_leave_rate"],
    )


def realised_outcome(
    truth: NeedScenarios,
    change_fte: np.ndarray,
    *,
    substitute_cost_nok_per_hour: float = DEFAULT_SUBSTITUTE_COST_NOK_PER_HOUR,
) -> dict[str, float]:
    """What an allocation ``change_fte`` (K, R) would have left unmet on the realised needs:
    ``unmet_<resource>`` and ``unmet_total`` (FTE-months), ``breach_<norm>`` (kindergarten-
    months), ``substitute_hours`` and ``substitute_cost_nok``."""
    short = shortfalls(truth, change_fte)
    out: dict[str, float] = {}
    for resource in RESOURCES:
        norm = NORM_OF_RESOURCE[resource]
        out[f"unmet_{resource}"] = float(short[norm].sum())
        out[f"breach_{norm}"] = float((short[norm] > BREACH_TOLERANCE).sum())
    out["unmet_total"] = sum(out[f"unmet_{r}"] for r in RESOURCES)
    hours = sum(out[f"unmet_{r}"] for r in SUBSTITUTE_RESOURCES) * hours_per_fte_month()
    out["substitute_hours"] = hours
    out["substitute_cost_nok"] = hours * substitute_cost_nok_per_hour
    return out


def hours_per_fte_month(hours_per_week: float = HOURS_PER_WEEK_PER_FTE) -> float:
    """37.5 h a week × 52 weeks / 12 months = 162.5 hours in one FTE-month."""
    return hours_per_week * WEEKS_PER_MONTH


def regret(value: float, key: float, oracle: float) -> float:
    """(value − oracle) / (key − oracle); NaN when the key is as good as the oracle (nothing to
    close: regret is undefined, not 0)."""
    gap = key - oracle
    return (value - oracle) / gap if gap > 1e-9 else float("nan")


def regret_table(outcomes: pd.DataFrame, *, measure: str = "unmet_total") -> pd.DataFrame:
    """Per origin and allocation the regret of ``measure``; ``outcomes`` has columns origin,
    allocation and the measure, with rows ``key`` and ``oracle`` per origin."""
    rows = []
    for origin, group in outcomes.groupby("origin", sort=True):
        by = group.set_index("allocation")[measure]
        for allocation, value in by.items():
            rows.append(
                {
                    "origin": origin,
                    "allocation": allocation,
                    "regret": regret(float(value), float(by["key"]), float(by["oracle"])),
                }
            )
    return pd.DataFrame(rows, columns=["origin", "allocation", "regret"])


__all__ = [
    "BREACH_TOLERANCE",
    "DEFAULT_SUBSTITUTE_COST_NOK_PER_HOUR",
    "HOURS_PER_WEEK_PER_FTE",
    "SUBSTITUTE_RESOURCES",
    "WEEKS_PER_MONTH",
    "hours_per_fte_month",
    "realised_needs",
    "realised_outcome",
    "regret",
    "regret_table",
]
