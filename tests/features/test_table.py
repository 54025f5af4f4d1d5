"""The point-in-time feature table: leakage, oracles against plain pandas, gaps, calendar,
capacity and the August crossing estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.contract import KNOWN_FUTURE_PREFIX, TARGETS, District
from data.errors import DataContractError
from features.table import (
    build_feature_table,
    feature_columns,
    feature_table_and_known_grid,
    known_future_features,
)
from simulate import simulate_district

SEED = 20240801
OPTIONAL_WITH_HOLES = ("vedtak_31", "sick_leave_rate", "staff_leavers", "waiting_list")


def simulated_with_holes(seed: int = SEED, n_kindergartens: int = 30) -> District:
    """The simulator's city preset, small (about two kindergartens in each of Oslo's districts),
    with extra gaps (12 % of rows dropped, so single- and multi-month gaps are common) and empty
    values in optional columns, so the oracles see both."""
    simulation = simulate_district(
        "city",
        seed=seed,
        n_kindergartens=n_kindergartens,
        start=pd.Period("2019-01", "M"),
        end=pd.Period("2022-12", "M"),
    )
    district = simulation.district
    rng = np.random.default_rng(seed)
    monthly = district.monthly[rng.random(len(district.monthly)) > 0.12].reset_index(drop=True)
    for column in OPTIONAL_WITH_HOLES:
        monthly[column] = monthly[column].astype(float)
        monthly.loc[rng.random(len(monthly)) < 0.05, column] = np.nan
    return District(
        kindergartens=district.kindergartens,
        monthly=monthly,
        population=district.population,
        simulated=True,
    )


@pytest.fixture(scope="module")
def district() -> District:
    return simulated_with_holes()


@pytest.fixture(scope="module")
def table(district: District) -> pd.DataFrame:
    return build_feature_table(district)


def _value_at(monthly: pd.DataFrame, column: str) -> dict[tuple[str, pd.Period], float]:
    return {
        (kg, month): value
        for kg, month, value in zip(
            monthly["kindergarten_id"], monthly["month"], monthly[column], strict=True
        )
    }


# --- shape, keys, gaps ------------------------------------------------------------------------


def test_one_row_per_observed_key_and_no_invented_rows(district, table):
    keys = district.monthly[["kindergarten_id", "month"]]
    assert len(table) == len(keys)
    pd.testing.assert_frame_equal(
        table[["kindergarten_id", "month"]].reset_index(drop=True),
        keys.sort_values(["kindergarten_id", "month"]).reset_index(drop=True),
    )
    assert isinstance(table["month"].dtype, pd.PeriodDtype)


def test_lag_across_a_gap_is_missing_not_the_previous_row(district, table):
    observed = set(zip(table["kindergarten_id"], table["month"], strict=True))
    after_gap = [
        i
        for i, (kg, month) in enumerate(zip(table["kindergarten_id"], table["month"], strict=True))
        if (kg, month - 1) not in observed and (kg, month - 2) in observed
    ]
    assert after_gap, "the random panel must contain single-month gaps"
    assert table.loc[after_gap, "children_under3_lag1"].isna().all()
    assert table.loc[after_gap, "children_under3_lag2"].notna().all()


def test_current_target_values_are_kept_exactly(district, table):
    monthly = district.monthly.sort_values(["kindergarten_id", "month"]).reset_index(drop=True)
    for target in TARGETS:
        np.testing.assert_array_equal(
            table[target].to_numpy(), monthly[target].to_numpy(dtype=float)
        )


# --- leakage ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cutoff", ["2020-02", "2021-08", "2022-07"])
def test_changing_everything_after_t_leaves_features_up_to_t_unchanged(district, table, cutoff):
    t = pd.Period(cutoff, freq="M")
    rng = np.random.default_rng(7)
    monthly = district.monthly.copy()
    later = monthly["month"] > t
    numeric = monthly.select_dtypes("number").columns
    # every value after t changes, and some later rows disappear
    monthly.loc[later, numeric] = monthly.loc[later, numeric] * 3 + 1
    monthly = monthly[~(later & (rng.random(len(monthly)) < 0.3))].reset_index(drop=True)
    changed = build_feature_table(
        District(
            kindergartens=district.kindergartens, monthly=monthly, population=district.population
        )
    )
    point_in_time, known = feature_columns(table)
    before = table[table["month"] <= t].reset_index(drop=True)
    after = changed[changed["month"] <= t].reset_index(drop=True)
    pd.testing.assert_frame_equal(before[point_in_time + known], after[point_in_time + known])
    # and the change did reach the rows after t, so the comparison could fail
    assert not np.allclose(
        table.loc[table["month"] > t, "children_under3"].sum(),
        changed.loc[changed["month"] > t, "children_under3"].sum(),
    )


# --- oracles: vectorised features against plain pandas ----------------------------------------


@pytest.mark.parametrize("column", [*TARGETS, "waiting_list"])
@pytest.mark.parametrize("k", [1, 2, 3, 6, 12])
def test_calendar_lag_matches_a_merge_on_the_shifted_month(district, table, column, k):
    shifted = district.monthly[["kindergarten_id", "month", column]].copy()
    shifted["month"] = shifted["month"] + k
    expected = table[["kindergarten_id", "month"]].merge(
        shifted, on=["kindergarten_id", "month"], how="left"
    )[column]
    np.testing.assert_allclose(
        table[f"{column}_lag{k}"].to_numpy(dtype=float), expected.to_numpy(dtype=float), rtol=1e-6
    )


@pytest.mark.parametrize("column", [*TARGETS, "waiting_list"])
@pytest.mark.parametrize("w", [3, 12])
def test_rolling_mean_matches_a_loop_over_calendar_months(district, table, column, w):
    value_at = _value_at(district.monthly, column)
    expected = []
    for kg, month in zip(table["kindergarten_id"], table["month"], strict=True):
        seen = [value_at[(kg, month - j)] for j in range(w) if (kg, month - j) in value_at]
        seen = [v for v in seen if not pd.isna(v)]
        expected.append(np.mean(seen) if seen else np.nan)
    np.testing.assert_allclose(
        table[f"{column}_mean_{w}m"].to_numpy(dtype=float), np.array(expected), rtol=1e-5
    )


def test_district_aggregates_match_a_groupby_on_month_t(district, table):
    frame = table[
        [
            "kindergarten_id",
            "month",
            "district",
            "children_under3",
            "children_over3",
            "vedtak_31",
            "vedtak_37",
            "sick_leave_rate",
        ]
    ].copy()
    frame["children"] = frame["children_under3"] + frame["children_over3"]
    grouped = frame.groupby(["district", "month"])
    expected = pd.DataFrame(
        {
            "n": grouped.size(),
            "district_total": grouped["children"].sum(),
            "sick": grouped["sick_leave_rate"].mean(),
        }
    )
    v31 = frame.dropna(subset=["vedtak_31"]).groupby(["district", "month"])
    expected["v31_rate"] = v31["vedtak_31"].sum() / v31["children"].sum()
    merged = frame.join(expected, on=["district", "month"])
    np.testing.assert_array_equal(table["district_kindergartens_reporting"], merged["n"])
    np.testing.assert_allclose(table["district_children"], merged["district_total"], rtol=1e-6)
    np.testing.assert_allclose(
        table["share_of_district_children"],
        merged["children"] / merged["district_total"],
        rtol=1e-6,
    )
    np.testing.assert_allclose(table["district_vedtak_31_per_child"], merged["v31_rate"], rtol=1e-5)
    np.testing.assert_allclose(table["district_sick_leave_rate_mean"], merged["sick"], rtol=1e-5)


def test_rates_and_staffing_match_the_norm_arithmetic(table):
    children = table["children_under3"] + table["children_over3"]
    places = 2 * table["children_under3"] + table["children_over3"]
    np.testing.assert_allclose(
        table["vedtak_37_per_child"], table["vedtak_37"] / children, rtol=1e-6
    )
    np.testing.assert_allclose(table["staff_norm_fte"], places / 6, rtol=1e-6)
    np.testing.assert_array_equal(table["pedagogue_norm_positions"], np.ceil(places / 14))
    np.testing.assert_allclose(
        table["effective_staff_fte"], table["staff_fte"] * (1 - table["sick_leave_rate"]), rtol=1e-5
    )


@pytest.mark.parametrize("w", [3, 12])
def test_turnover_is_annualised_leavers_per_staff_fte(district, table, w):
    leavers, staff = (
        _value_at(district.monthly, "staff_leavers"),
        _value_at(district.monthly, "staff_fte"),
    )
    expected = []
    for kg, month in zip(table["kindergarten_id"], table["month"], strict=True):
        window = [month - j for j in range(w)]
        left = [
            leavers[(kg, m)] for m in window if (kg, m) in leavers and not pd.isna(leavers[(kg, m)])
        ]
        fte = [staff[(kg, m)] for m in window if (kg, m) in staff]
        expected.append(12 * np.mean(left) / np.mean(fte) if left else np.nan)
    np.testing.assert_allclose(table[f"turnover_per_fte_year_{w}m"], expected, rtol=1e-5)


def test_months_observed_counts_rows_so_far(table):
    expected = table.groupby("kindergarten_id").cumcount() + 1
    np.testing.assert_array_equal(table["months_observed"], expected)


# --- calendar, capacity, crossing -------------------------------------------------------------


def test_kindergarten_year_calendar_for_every_calendar_month(district):
    # calendar month → (month of kindergarten year, months to next August)
    expected = {
        8: (1, 12),
        9: (2, 11),
        10: (3, 10),
        11: (4, 9),
        12: (5, 8),
        1: (6, 7),
        2: (7, 6),
        3: (8, 5),
        4: (9, 4),
        5: (10, 3),
        6: (11, 2),
        7: (12, 1),
    }
    kg = district.kindergartens["kindergarten_id"].iloc[0]
    keys = pd.DataFrame(
        {"kindergarten_id": kg, "month": pd.period_range("2023-01", "2023-12", freq="M")}
    )
    known = known_future_features(district, keys)
    for month, kg_month, to_august in zip(
        known["month"],
        known["known_month_of_kg_year"],
        known["known_months_to_august"],
        strict=True,
    ):
        assert (kg_month, to_august) == expected[month.month]
    assert known.loc[known["month"].dt.month == 8, "known_is_august"].eq(1).all()
    assert known["known_is_august"].sum() == 1
    assert known.loc[known["month"] == pd.Period("2023-07", "M"), "known_kg_year"].item() == 2022
    assert known.loc[known["month"] == pd.Period("2023-08", "M"), "known_kg_year"].item() == 2023


def test_capacity_headroom_counts_two_places_per_child_under_3(district, table):
    capacity = table["kindergarten_id"].map(
        district.kindergartens.set_index("kindergarten_id")["capacity"]
    )
    expected = capacity - (2 * table["children_under3"] + table["children_over3"])
    np.testing.assert_allclose(table["capacity_headroom_places"], expected)
    one = table.iloc[0]
    assert one["capacity_headroom_places"] == (
        one["capacity"] - 2 * one["children_under3"] - one["children_over3"]
    )


def _region_rows(population: pd.DataFrame, district: str, area: str | None) -> pd.DataFrame:
    """A kindergarten's population rows, written plainly: its area's if the table has them, else
    its district's own rows, else the sum of its district's area rows."""
    in_district = population[population["district"] == district]
    area_rows = in_district[in_district["area"] == area]
    if area is not None and len(area_rows):
        return area_rows.set_index("year")
    district_rows = in_district[in_district["area"].isna()]
    if len(district_rows):
        return district_rows.set_index("year")
    return in_district.groupby("year").sum(numeric_only=True)


def _expected_population(district: District, kg: str, month: pd.Period) -> dict[str, float]:
    info = district.kindergartens.set_index("kindergarten_id").loc[kg]
    rows = _region_rows(district.population, info["district"], info["area"])
    last = rows.index.max()
    year = min(month.year, last)
    august_year = min(month.year + (month.month >= 8), last)
    pop2, pop1 = rows.loc[august_year, "population_2"], rows.loc[august_year, "population_1"]
    return {
        "known_population_1_5": rows.loc[year, "population_1_5"],
        "known_population_1_5_growth": rows.loc[year, "population_1_5"]
        / rows.loc[year - 1, "population_1_5"]
        - 1,
        "known_population_0": rows.loc[year, "population_0"],
        "known_u3_crossing_share": pop2 / (pop1 + pop2),
    }


@pytest.mark.parametrize("level", ["area", "district", "sum of areas"])
def test_population_features_match_a_plain_lookup_of_the_area_or_district(district, level):
    population = district.population
    if level == "district":  # no area rows: every kindergarten falls back to its district
        population = population[population["area"].isna()]
    elif level == "sum of areas":  # only area rows: a district is the sum of its areas
        population = population[population["area"].notna()]
    kindergartens = district.kindergartens
    if level != "area":
        kindergartens = kindergartens.assign(area=None)
    case = District(kindergartens=kindergartens, monthly=district.monthly, population=population)
    table = build_feature_table(case)
    sample = table.sample(200, random_state=3)
    expected = pd.DataFrame(
        [
            _expected_population(case, kg, m)
            for kg, m in zip(sample["kindergarten_id"], sample["month"], strict=True)
        ],
        index=sample.index,
    )
    for column in expected.columns:
        np.testing.assert_allclose(sample[column], expected[column], rtol=1e-5, err_msg=column)
    np.testing.assert_allclose(
        sample["u3_crossing_next_august"],
        sample["known_u3_crossing_share"] * sample["children_under3"],
        rtol=1e-5,
    )


def test_crossing_estimate_is_between_zero_and_the_under_3s(table):
    crossing = table["u3_crossing_next_august"]
    assert (crossing >= 0).all()
    assert (crossing <= table["children_under3"] + 1e-4).all()
    assert table["known_u3_crossing_share"].between(0.3, 0.7).all()


def test_crossing_estimate_is_close_to_the_simulators_realised_crossing_on_average():
    simulation = simulate_district(
        "district", seed=SEED, start=pd.Period("2018-01", "M"), end=pd.Period("2022-12", "M")
    )
    table = build_feature_table(simulation.district)
    truth = simulation.truth["monthly"][["kindergarten_id", "month", "crossing_next_august"]]
    merged = table.merge(truth, on=["kindergarten_id", "month"]).dropna(
        subset=["crossing_next_august"]
    )
    assert len(merged) > 1000
    ratio = merged["u3_crossing_next_august"].sum() / merged["crossing_next_august"].sum()
    # the estimate ignores that one-year-olds enrol later and less than two-year-olds: a few
    # per cent low on average, never far off
    assert 0.85 < ratio < 1.05
    by_kindergarten = merged.groupby("kindergarten_id")[
        ["u3_crossing_next_august", "crossing_next_august"]
    ].mean()
    assert by_kindergarten.corr().iloc[0, 1] > 0.8


def test_crossing_share_falls_back_to_one_half_without_population(district):
    table = build_feature_table(
        District(kindergartens=district.kindergartens, monthly=district.monthly)
    )
    assert table["known_u3_crossing_share"].eq(0.5).all()
    np.testing.assert_allclose(
        table["u3_crossing_next_august"], 0.5 * table["children_under3"], rtol=1e-6
    )
    assert "known_population_1_5" not in table.columns


# --- known-future features and the column split ----------------------------------------------


def test_known_future_features_equal_the_table_inside_the_data(district, table):
    _, known = feature_columns(table)
    keys = table[["kindergarten_id", "month"]].sample(frac=0.5, random_state=1)
    asked = known_future_features(district, keys)
    pd.testing.assert_frame_equal(asked[known], table.loc[keys.index, known])
    assert list(asked.columns[:2]) == ["kindergarten_id", "month"]


def _known_grid_the_plain_way(district: District, table: pd.DataFrame, months_ahead: int):
    """Every kindergarten of ``table`` (sorted as text) × every month from its first to
    ``months_ahead`` past its last, asked of :func:`known_future_features` in a plain loop."""
    months = pd.period_range(table["month"].min(), table["month"].max() + months_ahead, freq="M")
    rows = [(kg, month) for kg in sorted(table["kindergarten_id"].unique()) for month in months]
    keys = pd.DataFrame(rows, columns=["kindergarten_id", "month"])
    keys["month"] = keys["month"].astype(pd.PeriodDtype("M"))
    return known_future_features(district, keys)


@pytest.mark.parametrize("numbered", [False, True])
def test_the_table_with_its_known_grid_is_the_table_and_the_grid_asked_apart(district, numbered):
    if numbered:  # ids whose order as numbers is not their order as text (9 < 10, "10" < "9")
        number = {kg: 7 * i + 3 for i, kg in enumerate(district.kindergartens["kindergarten_id"])}
        district = District(
            kindergartens=district.kindergartens.assign(
                kindergarten_id=district.kindergartens["kindergarten_id"].map(number)
            ),
            monthly=district.monthly.assign(
                kindergarten_id=district.monthly["kindergarten_id"].map(number)
            ),
            population=district.population,
            simulated=True,
        )
    table, grid = feature_table_and_known_grid(district, months_ahead=14)
    alone = build_feature_table(district)
    pd.testing.assert_frame_equal(table, alone, check_exact=True)
    assert (table.dtypes == alone.dtypes).all()
    plain = _known_grid_the_plain_way(district, alone, 14)
    pd.testing.assert_frame_equal(grid, plain, check_exact=True)
    assert table["month"].max() + 14 == grid["month"].max()


def test_known_future_features_beyond_the_data_carry_the_last_population_year(district):
    kg = district.kindergartens["kindergarten_id"].iloc[1]
    keys = pd.DataFrame(
        {"kindergarten_id": [kg, kg], "month": pd.PeriodIndex(["2040-03", "2041-09"], freq="M")}
    )
    known = known_future_features(district, keys)
    last_year = district.population["year"].max()
    assert last_year < 2040
    for column, value in _expected_population(
        district, kg, pd.Period(f"{last_year}-01", "M")
    ).items():
        np.testing.assert_allclose(known[column], value, rtol=1e-5, err_msg=column)
    assert known["known_month_of_kg_year"].tolist() == [8, 2]
    assert known["known_kg_year"].tolist() == [2039, 2041]


def test_known_future_features_refuse_an_unknown_kindergarten(district):
    keys = pd.DataFrame(
        {"kindergarten_id": ["nope"], "month": pd.PeriodIndex(["2023-01"], freq="M")}
    )
    with pytest.raises(ValueError, match=r"unknown kindergarten_id\(s\) in keys: nope"):
        known_future_features(district, keys)


def test_feature_columns_split_by_the_known_prefix(table):
    point_in_time, known = feature_columns(table)
    assert {"kindergarten_id", "month", "district"}.isdisjoint(point_in_time + known)
    assert all(c.startswith(KNOWN_FUTURE_PREFIX) for c in known)
    assert not any(c.startswith(KNOWN_FUTURE_PREFIX) for c in point_in_time)
    assert {
        "known_month_of_kg_year",
        "known_months_to_august",
        "known_is_august",
        "known_population_1_5_growth",
        "known_u3_crossing_share",
    } <= set(known)
    assert set(TARGETS) <= set(point_in_time)
    assert {
        "capacity_headroom_places",
        "u3_crossing_next_august",
        "vedtak_31_per_child",
        "sick_leave_rate_mean_3m",
        "turnover_per_fte_year_12m",
        "district_children",
        "minority_language_share",
        "low_income_share",
        "waiting_list_lag1",
        "staff_fte_minus_norm",
        "pedagogue_fte_minus_norm",
    } <= set(point_in_time)
    assert len(point_in_time) + len(known) == table.shape[1] - 3


def test_optional_columns_absent_leave_their_features_out(district):
    monthly = district.monthly.drop(columns=["vedtak_31", "staff_leavers", "waiting_list"])
    table = build_feature_table(
        District(
            kindergartens=district.kindergartens, monthly=monthly, population=district.population
        )
    )
    assert not any(
        c.startswith(("vedtak_31", "staff_leavers", "waiting_list", "turnover"))
        for c in table.columns
    )
    assert "vedtak_37_lag1" in table.columns


def test_unknown_kindergarten_and_missing_column_are_reported_together(district):
    monthly = district.monthly.drop(columns=["staff_fte"])
    with pytest.raises(DataContractError) as caught:
        build_feature_table(
            District(
                kindergartens=district.kindergartens.drop(columns=["capacity"]), monthly=monthly
            )
        )
    messages = [str(p) for p in caught.value.problems]
    assert any("monthly" in m and "'staff_fte'" in m and "missing" in m for m in messages)
    assert any("kindergartens" in m and "'capacity'" in m for m in messages)
    monthly = district.monthly.copy()
    monthly.loc[5, "kindergarten_id"] = "ghost"
    with pytest.raises(DataContractError) as caught:
        build_feature_table(District(kindergartens=district.kindergartens, monthly=monthly))
    assert str(caught.value.problems[0]) == (
        "error: monthly, row 7, column 'kindergarten_id': kindergarten_id is not in "
        "kindergartens (found 'ghost')"
    )


def test_nullable_dtypes_from_a_reader_give_the_same_table(district, table):
    monthly = district.monthly.astype(
        {"kindergarten_id": "string", "children_under3": "Int64", "vedtak_31": "Float64"}
    )
    kindergartens = district.kindergartens.astype({"capacity": "Int64"})
    population = district.population.astype({"year": "Int64", "population_2": "Int64"})
    nullable = build_feature_table(
        District(kindergartens=kindergartens, monthly=monthly, population=population)
    )
    pd.testing.assert_frame_equal(nullable, table)


def test_an_empty_monthly_table_gives_an_empty_table_with_the_columns(district, table):
    empty = build_feature_table(
        District(
            kindergartens=district.kindergartens,
            monthly=district.monthly.iloc[:0],
            population=district.population,
        )
    )
    assert len(empty) == 0
    assert list(empty.columns) == list(table.columns)


def test_lags_and_windows_are_chosen_by_the_caller(district):
    table = build_feature_table(district, lags=(1, 24, 24), windows=(6,))
    assert "children_over3_lag24" in table.columns and "children_over3_lag2" not in table.columns
    assert "sick_leave_rate_mean_6m" in table.columns
    assert "turnover_per_fte_year_6m" in table.columns
    assert table.columns.is_unique
    with pytest.raises(ValueError, match="every lag must be a whole number of months ≥ 1"):
        build_feature_table(district, lags=(0, 1))
    with pytest.raises(ValueError, match=r"every window must be .* got \[1\.5\]"):
        build_feature_table(district, windows=(1.5,))  # type: ignore[arg-type]


def test_a_kindergarten_outside_the_population_table_gets_no_population_and_half(district):
    kindergartens = district.kindergartens.copy()
    outside = kindergartens["kindergarten_id"].iloc[0]
    kindergartens.loc[0, "district"] = "Bydel Utenfor"
    table = build_feature_table(
        District(
            kindergartens=kindergartens, monthly=district.monthly, population=district.population
        )
    )
    rows = table[table["kindergarten_id"] == outside]
    assert rows["known_population_1_5"].isna().all()
    assert rows["known_u3_crossing_share"].eq(0.5).all()
    others = table[table["kindergarten_id"] != outside]
    assert others["known_population_1_5"].notna().all()
