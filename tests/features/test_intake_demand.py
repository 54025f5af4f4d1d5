"""The intake-cycle projection moved by demand (features.intake) and the population columns that
make the demand (features.cohorts): exact arithmetic a planner can redo by hand, on a SIMULATED
population table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.cohorts import population_features
from features.intake import intake_cycle_projection


def cycle_panel(n_rows: int = 4, n_months: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    calendar_month = np.arange(n_months) % 12 + 1
    cycle = np.where(calendar_month == 8, 0.8, 1.0)
    y = np.round(
        rng.uniform(20, 40, size=(n_rows, 1)) * cycle + rng.normal(0, 1.5, (n_rows, n_months))
    )
    return y, calendar_month


def test_a_constant_demand_leaves_the_projection_as_it_is():
    y, calendar_month = cycle_panel()
    plain = intake_cycle_projection(y, calendar_month, 5, level_months=12)
    flat = intake_cycle_projection(
        y, calendar_month, 5, level_months=12, demand=np.full(y.shape, 7.0)
    )
    np.testing.assert_allclose(flat, plain)


@pytest.mark.parametrize("h", [1, 6, 12])
def test_the_level_moves_with_demand_from_the_level_window_to_the_target_month(h):
    """Demand growing 1 % a month: the projection's level part L·S grows by D(t+h) / (mean of D
    over the 12 months up to t); the deviation part stays."""
    y, calendar_month = cycle_panel()
    n_rows, n_months = y.shape
    plain = intake_cycle_projection(y, calendar_month, h, level_months=12)
    growing = np.tile(1.01 ** np.arange(n_months), (n_rows, 1))
    moved = intake_cycle_projection(y, calendar_month, h, level_months=12, demand=growing)
    for t in range(12, n_months - h):
        # demand 2 at the target month, 1 elsewhere: the level part doubles, so it is the
        # difference from the plain projection
        doubling = np.ones(y.shape)
        doubling[:, t + h] = 2.0
        level_part = (
            intake_cycle_projection(y, calendar_month, h, level_months=12, demand=doubling)[:, t]
            - plain[:, t]
        )
        change = growing[0, t + h] / growing[0, t - 11 : t + 1].mean()
        np.testing.assert_allclose(moved[:, t] - plain[:, t], (change - 1.0) * level_part)
        assert change > 1.0 and np.all(moved[:, t] > plain[:, t]), "growing demand, more children"


def test_unknown_or_zero_demand_leaves_the_level_alone():
    y, calendar_month = cycle_panel()
    plain = intake_cycle_projection(y, calendar_month, 3, level_months=12)
    demand = np.full(y.shape, np.nan)
    np.testing.assert_allclose(intake_cycle_projection(y, calendar_month, 3, demand=demand), plain)
    np.testing.assert_allclose(
        intake_cycle_projection(y, calendar_month, 3, demand=np.zeros(y.shape)), plain
    )


@pytest.fixture(scope="module")
def population_case():
    from features.simulate import simulate_district

    district = simulate_district("district", seed=4, n_kindergartens=6).district
    kg = district.kindergartens.iloc[0]
    months = pd.period_range("2023-01", "2024-12", freq="M")
    ids = pd.Series([kg["kindergarten_id"]] * len(months))
    ordinals = np.asarray(months.asi8, dtype=np.int64)
    features = population_features(district.kindergartens, district.population, ids, ordinals)
    rows = district.population[
        (district.population["district"] == kg["district"])
        & (district.population["area"] == kg["area"])
    ].set_index("year")
    return months, features, rows


def test_monthly_population_runs_linearly_from_one_january_to_the_next(population_case):
    months, features, rows = population_case
    for i, month in enumerate(months):
        this, following = (
            rows.loc[month.year, "population_1_5"],
            rows.loc[month.year + 1, "population_1_5"],
        )
        expected = this + (month.month - 1) / 12 * (following - this)
        assert features["known_population_1_5_monthly"].iloc[i] == pytest.approx(expected, rel=1e-6)
    assert features["known_population_1_5_monthly"].iloc[0] == rows.loc[2023, "population_1_5"]


def test_age_mix_and_school_starters_are_the_population_table_ratios(population_case):
    months, features, rows = population_case
    over3 = rows[["population_3", "population_4", "population_5"]].sum(axis=1)
    ratio = (rows["population_1"] + rows["population_2"]) / over3
    starters = rows["population_5"] / over3
    january = [i for i, m in enumerate(months) if m.month == 1]
    for i in january:
        year = months[i].year
        assert features["known_population_under3_over3_ratio"].iloc[i] == pytest.approx(
            ratio[year], rel=1e-6
        )
    for i, month in enumerate(months):
        assert features["known_school_starter_share"].iloc[i] == pytest.approx(
            starters[month.year], rel=1e-6
        )
    # a share of children aged 3–5 who are five: about a third
    assert features["known_school_starter_share"].between(0.2, 0.45).all()


def test_without_single_ages_the_mix_columns_are_left_out(population_case):
    from features.simulate import simulate_district

    district = simulate_district("district", seed=4, n_kindergartens=6).district
    population = district.population.drop(columns=["population_3", "population_4", "population_5"])
    ids = district.kindergartens["kindergarten_id"].iloc[:1]
    out = population_features(district.kindergartens, population, ids, np.array([650]))
    assert "known_population_under3_over3_ratio" not in out.columns
    assert "known_population_1_5_monthly" in out.columns
