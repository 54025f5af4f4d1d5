"""The simulator's population: the cohort-component projection and the split into areas, checked
against hand-computed values on tiny tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulate.layout import largest_remainder
from simulate.population import (
    AGES,
    AreaSpec,
    load_oslo_population,
    project_district_population,
    split_into_areas,
)


def _constant_growth_table() -> pd.DataFrame:
    """One district whose births grow 2 % a year and whose cohorts keep 90 % from one age to the
    next, 2015–2024."""
    years = np.arange(2015, 2025)
    rows = []
    for year in years:
        births = 1000 * 1.02 ** (year - 2015)
        rows.append([births * 0.9**a / 1.02**a for a in range(6)])
    frame = pd.DataFrame(np.array(rows), columns=list(AGES))
    frame.insert(0, "year", years)
    frame.insert(0, "district", "Bydel Test")
    frame.insert(2, "population_1_5", frame[list(AGES[1:])].sum(axis=1))
    return frame


def test_projection_continues_the_birth_trend_and_the_cohort_ratios() -> None:
    projected = project_district_population(_constant_growth_table(), last_year=2027)
    assert projected["year"].tolist() == list(range(2015, 2028))
    assert projected.loc[projected["year"] > 2024, "projection"].all()
    assert not projected.loc[projected["year"] <= 2024, "projection"].any()
    y2027 = projected.set_index("year").loc[2027]
    births_2027 = 1000 * 1.02**12
    assert abs(y2027["population_0"] - births_2027) <= 1
    # age 3 in 2027 was born in 2024 and kept 0.9 per year of age
    assert abs(y2027["population_3"] - 1000 * 1.02**9 * 0.9**3) <= 1
    assert y2027["population_1_5"] == sum(y2027[f"population_{a}"] for a in range(1, 6))


def test_real_years_are_kept_unchanged() -> None:
    real = load_oslo_population()
    projected = project_district_population(real, last_year=2026)
    kept = projected[~projected["projection"]].drop(columns="projection")
    pd.testing.assert_frame_equal(
        kept.sort_values(["district", "year"]).reset_index(drop=True),
        real[kept.columns].sort_values(["district", "year"]).reset_index(drop=True),
        check_dtype=False,
    )
    assert len(projected) == len(real) + 2 * real["district"].nunique()


def test_areas_add_up_exactly_to_their_district_every_year_and_age() -> None:
    real = project_district_population(load_oslo_population(), last_year=2026)
    areas = [
        AreaSpec("A", "Bydel Alna", 0.5, 0.8, 0.02),
        AreaSpec("B", "Bydel Alna", 0.3, 0.6, -0.01),
        AreaSpec("C", "Bydel Alna", 0.2, 0.7, 0.0),
        AreaSpec("D", "Bydel Frogner", 1.0, 0.1, 0.0),
    ]
    split = split_into_areas(real, areas, base_year=2015)
    summed = split.groupby(["district", "year"])[list(AGES)].sum()
    district = real.set_index(["district", "year"]).loc[summed.index, list(AGES)]
    pd.testing.assert_frame_equal(summed, district, check_dtype=False)
    # the growing area's share of Alna rises over time
    alna = split[split["district"] == "Bydel Alna"].pivot(
        index="year", columns="area", values="population_1_5"
    )
    share_a = alna["A"] / alna.sum(axis=1)
    assert share_a[2026] > share_a[2005]


def test_largest_remainder_splits_exactly() -> None:
    counts = largest_remainder(45, np.array([0.17, 0.18, 0.15, 0.14, 0.14, 0.22]), minimum=1)
    assert counts.sum() == 45 and (counts >= 1).all()
    assert largest_remainder(2, np.array([1.0, 1.0, 1.0]), minimum=1).sum() == 2
    assert largest_remainder(5, np.zeros(3)).sum() == 5
