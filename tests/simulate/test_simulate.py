"""The simulated district: properties a domain person would check (DOMAIN.md), on small
simulations with fixed seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.contract import SIMULATED_LABEL
from simulate import Simulation, simulate_district, write_simulation

START, END = pd.Period("2019-01", freq="M"), pd.Period("2024-12", freq="M")


REAL_KINDERGARTENS = (
    Path(__file__).resolve().parents[2] / "data/real/oslo_kindergartens_3_districts_2024.csv"
)


@pytest.fixture(scope="module")
def small() -> Simulation:
    return simulate_district("district", seed=1, n_kindergartens=8, start=START, end=END)


@pytest.fixture(scope="module")
def district() -> Simulation:
    """The full district preset (45 kindergartens, 2017-01 … 2026-10), for statistical checks."""
    return simulate_district("district", seed=3)


def _with_truth(sim: Simulation) -> pd.DataFrame:
    latent = sim.truth["kindergartens"][["kindergarten_id", "living_conditions_index"]]
    return sim.district.monthly.merge(latent, on="kindergarten_id")


def _with_previous_month(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` joined with its own ``columns`` of the month before (suffix ``_before``), only
    where both months are present."""
    before = frame[["kindergarten_id", "month", *columns]].copy()
    before["month"] = before["month"] + 1
    return frame.merge(before, on=["kindergarten_id", "month"], suffixes=("", "_before"))


def _change_into(monthly: pd.DataFrame, column: str, month_of_year: int) -> pd.Series:
    """Per kindergarten and year: value in ``month_of_year`` minus the value the month before."""
    both = _with_previous_month(monthly, [column])
    both = both[both["month"].dt.month == month_of_year]
    return both[column] - both[f"{column}_before"]


# --- reproducibility, labels, sizes -------------------------------------------------------------


def test_same_seed_gives_identical_frames_and_another_seed_does_not(small: Simulation) -> None:
    again = simulate_district("district", seed=1, n_kindergartens=8, start=START, end=END)
    other = simulate_district("district", seed=2, n_kindergartens=8, start=START, end=END)
    pd.testing.assert_frame_equal(small.district.monthly, again.district.monthly)
    pd.testing.assert_frame_equal(small.district.kindergartens, again.district.kindergartens)
    pd.testing.assert_frame_equal(small.truth["events"], again.truth["events"])
    assert small.district.fingerprint() == again.district.fingerprint()
    assert small.district.fingerprint() != other.district.fingerprint()
    assert not small.district.monthly["children_under3"].equals(
        other.district.monthly["children_under3"]
    )


def test_everything_is_labelled_simulated(small: Simulation) -> None:
    d = small.district
    assert d.simulated and d.source == "simulated:district:seed=1"
    assert d.kindergartens["name"].str.endswith("(simulated)").all()
    assert d.kindergartens["simulated"].all() and d.monthly["simulated"].all()
    assert (d.kindergartens["district"] == "Bydel Gamle Oslo").all()


def test_presets_have_their_stated_sizes() -> None:
    assert len(simulate_district("district", seed=0).district.kindergartens) == 45
    city = simulate_district(
        "city", seed=0, start=pd.Period("2024-01", freq="M"), end=pd.Period("2024-02", freq="M")
    ).district
    assert len(city.kindergartens) == 700
    assert city.kindergartens["district"].nunique() == 15
    # kindergartens follow the real child population: Gamle Oslo (3,366 aged 1–5 in 2024) has
    # about twice as many as St. Hanshaugen (1,425)
    per_district = city.kindergartens["district"].value_counts()
    assert per_district["Bydel Gamle Oslo"] > 1.8 * per_district["Bydel St. Hanshaugen"]


def test_nation_preset_size_and_oslo_share() -> None:
    one_month = pd.Period("2024-03", freq="M")
    nation = simulate_district("nation", seed=0, start=one_month, end=one_month).district
    assert len(nation.kindergartens) == 5500
    oslo = nation.kindergartens["district"].str.startswith("Bydel ").sum()
    assert oslo == 700
    assert nation.kindergartens["kindergarten_id"].is_unique


def test_n_kindergartens_override_and_default_period(
    small: Simulation, district: Simulation
) -> None:
    assert len(small.district.kindergartens) == 8
    assert small.district.first_month == START and small.district.last_month == END
    assert district.district.first_month == pd.Period("2017-01", freq="M")
    assert district.district.last_month == pd.Period("2026-10", freq="M")


def test_progress_reports_every_month_including_burn_in() -> None:
    calls: list[tuple[int, int]] = []
    simulate_district(
        "district",
        seed=0,
        n_kindergartens=3,
        start=START,
        end=START + 5,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[-1][0] == calls[-1][1] == len(calls) >= 6


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="end 2019-01 is before start 2019-02"):
        simulate_district(start=START + 1, end=START)
    with pytest.raises(ValueError, match="preset 'county' is not one of"):
        simulate_district("county")  # type: ignore[arg-type]


# --- kindergartens and rows ----------------------------------------------------------------------


def test_capacity_in_places_and_enrolment_never_far_above_it(district: Simulation) -> None:
    kg = district.district.kindergartens
    assert kg["capacity"].between(30, 130).all()
    m = district.district.monthly.merge(kg[["kindergarten_id", "capacity"]])
    places = 2 * m["children_under3"] + m["children_over3"]
    assert (places <= np.floor(1.15 * m["capacity"])).all()
    assert 0.7 < (places / m["capacity"]).mean() < 1.0


def test_no_rows_outside_opened_and_closed(district: Simulation) -> None:
    kg = district.district.kindergartens
    start = district.district.first_month
    assert (kg["opened"] > start).sum() >= 1, "some kindergartens open during the period"
    assert kg["closed"].notna().sum() >= 1, "some close"
    assert (kg.loc[kg["opened"] > start, "opened"].dt.month == 8).all()
    m = district.district.monthly.merge(kg[["kindergarten_id", "opened", "closed"]])
    assert (m["month"] >= m["opened"]).all()
    assert (m["closed"].isna() | (m["month"] <= m["closed"])).all()


def test_gaps_are_whole_missing_rows_about_half_a_percent(district: Simulation) -> None:
    truth = district.truth["monthly"]
    missing = truth.loc[~truth["in_data"], ["kindergarten_id", "month"]]
    assert 0.001 < len(missing) / len(truth) < 0.012
    keys = district.district.monthly.set_index(["kindergarten_id", "month"]).index
    assert not keys.isin(pd.MultiIndex.from_frame(missing)).any()
    assert len(keys) + len(missing) == len(truth)
    assert not district.district.monthly.isna().any().any(), "no empty cells besides gaps"


# --- children -----------------------------------------------------------------------------------


def test_august_shift_moves_children_from_under3_to_over3(district: Simulation) -> None:
    m = district.district.monthly
    assert _change_into(m, "children_under3", 8).mean() < -1.5
    assert _change_into(m, "children_over3", 8).mean() > 5


def test_truth_crossing_count_matches_the_august_shift(district: Simulation) -> None:
    truth = district.truth["monthly"]
    both = _with_previous_month(truth, ["older_under3_cohort", "crossing_next_august"])
    august = both[both["month"].dt.month == 8]
    # the older under-3 cohort in July is exactly who crosses in August, and the truth's
    # "crossing next August" seen from July is that number
    assert (august["aged_into_over3"] == august["older_under3_cohort_before"]).all()
    assert (august["aged_into_over3"] == august["crossing_next_august_before"]).all()
    assert august["aged_into_over3"].sum() > 0
    # the crossing only happens in August
    assert (truth.loc[truth["month"].dt.month != 8, "aged_into_over3"] == 0).all()


def test_truth_under3_target_is_what_the_group_fills_up_to(district: Simulation) -> None:
    frame = district.district.monthly.merge(
        district.truth["monthly"], on=["kindergarten_id", "month"]
    )
    by_month = frame.groupby(frame["month"].dt.month)
    filled = by_month["children_under3"].sum() / by_month["target_under3"].sum()
    # the group is furthest below its target right after the August shift and fills up through
    # the autumn to a winter-spring plateau a little under it (children keep moving away, and
    # each month fills only part of the gap)
    assert filled.idxmin() == 8 and filled[8] < 0.8
    assert (filled.loc[[8, 9, 10, 11]].diff().dropna() > 0).all()
    assert filled.loc[[1, 2, 3, 4, 5]].min() > 0.88 and filled.max() < 1.0
    # intake never fills beyond it: only refugee arrivals (placed even above the target) and a
    # target that drifts down leave a group above it
    assert (frame["children_under3"] > np.ceil(frame["target_under3"])).mean() < 0.01


def test_every_child_is_accounted_for_month_to_month(district: Simulation) -> None:
    monthly = district.district.monthly.assign(
        kids=lambda m: m["children_under3"] + m["children_over3"]
    )
    frame = _with_previous_month(monthly, ["kids"]).merge(
        district.truth["monthly"], on=["kindergarten_id", "month"]
    )
    flow = (
        frame["joined_under3"]
        + frame["joined_over3"]
        + frame["refugee_arrivals"]
        - frame["left_under3"]
        - frame["left_over3"]
        - frame["school_leavers"]
    )
    assert len(frame) > 3000
    assert ((frame["kids"] - frame["kids_before"]) == flow).all()


def test_school_leavers_leave_in_summer(district: Simulation) -> None:
    m = district.district.monthly
    by_month = m.groupby(m["month"].dt.month)["children_over3"].mean()
    assert by_month[7] < 0.8 * by_month[5]
    truth = district.truth["monthly"]
    leavers = truth.groupby(truth["month"].dt.month)["school_leavers"].sum()
    assert leavers.drop([6, 7, 8]).sum() == 0 and leavers[7] > leavers[6] > 0


def test_refugee_events_add_up_to_the_arrivals(district: Simulation) -> None:
    events = district.truth["events"]
    assert len(events) >= 5
    assert (events["children"] > 0).all()
    assert events["children"].sum() == district.truth["monthly"]["refugee_arrivals"].sum()


def test_refugees_are_settled_more_often_in_poorer_areas() -> None:
    city = simulate_district("city", seed=0)  # ~75 areas over ten years: enough events to compare
    areas = city.truth["areas"].set_index("area")["living_conditions_index"]
    poor = areas >= areas.median()
    per_area = city.truth["events"]["area"].value_counts().reindex(areas.index, fill_value=0)
    assert per_area[poor].sum() > 1.3 * per_area[~poor].sum()


def test_fewer_children_over3_as_families_move_away(district: Simulation) -> None:
    kg = district.district.kindergartens
    throughout = kg.loc[
        (kg["opened"] < pd.Period("2017-01", freq="M")) & kg["closed"].isna(), "kindergarten_id"
    ]
    m = district.district.monthly
    spring = m[m["month"].dt.month.isin([3, 4, 5]) & m["kindergarten_id"].isin(throughout)]
    per_kg = spring.groupby(spring["month"].dt.year)["children_over3"].mean()
    assert per_kg[2024] < 0.97 * per_kg[2017]
    # families with older children move away more often than those with under-3s
    truth = district.truth["monthly"].merge(m, on=["kindergarten_id", "month"])
    over3_rate = truth["left_over3"].sum() / truth["children_over3"].sum()
    under3_rate = truth["left_under3"].sum() / truth["children_under3"].sum()
    assert over3_rate > 1.1 * under3_rate


# --- decisions and shares ------------------------------------------------------------------------


def test_vedtak31_rate_rises_and_is_higher_where_low_income_is_high(district: Simulation) -> None:
    m = district.district.monthly
    children = m["children_under3"] + m["children_over3"]
    yearly = m.groupby(m["month"].dt.year).apply(
        lambda g: g["vedtak_31"].sum() / (g["children_under3"] + g["children_over3"]).sum()
    )
    assert yearly[2025] > 1.2 * yearly[2017]
    assert np.polyfit(yearly.index, yearly.to_numpy(), 1)[0] > 0
    assert 0.01 < yearly[2017] < yearly[2025] < 0.12
    rate = m["vedtak_31"] / children
    high = m["low_income_share"] >= m["low_income_share"].quantile(2 / 3)
    low = m["low_income_share"] <= m["low_income_share"].quantile(1 / 3)
    assert rate[high].mean() > 1.2 * rate[low].mean()
    assert m["vedtak_37"].sum() < 0.5 * m["vedtak_31"].sum()


def test_decisions_persist_from_month_to_month(district: Simulation) -> None:
    change = district.district.monthly.groupby("kindergarten_id")["vedtak_31"].diff().dropna()
    assert (change.abs() <= 1).mean() > 0.8


def test_shares_follow_living_conditions(district: Simulation) -> None:
    m = _with_truth(district)
    for share in ("low_income_share", "minority_language_share"):
        assert m[share].between(0, 1).all()
        assert np.corrcoef(m[share], m["living_conditions_index"])[0, 1] > 0.5


# --- work environment and staffing ---------------------------------------------------------------


def test_sick_leave_is_seasonal_near_ten_percent_and_persistent(district: Simulation) -> None:
    m = district.district.monthly
    assert 0.08 <= m["sick_leave_rate"].mean() <= 0.14
    by_month = m.groupby(m["month"].dt.month)["sick_leave_rate"].mean()
    assert by_month[[1, 2]].mean() > 1.4 * by_month[7]
    # a kindergarten with high sick leave one year tends to have high sick leave the next
    yearly = m.groupby(["kindergarten_id", m["month"].dt.year])["sick_leave_rate"].mean().unstack()
    assert yearly[2021].corr(yearly[2022]) > 0.3


def test_sick_leave_rises_with_workload(district: Simulation) -> None:
    truth = district.truth["monthly"].merge(district.district.monthly)
    children_per_fte = truth["staffing_need_fte"] / truth["staff_fte"]
    # staffed to the norm on paper, kindergartens are over it only now and then (a leaver not
    # yet replaced, children admitted before staff): those months carry more sick leave
    over = children_per_fte > 1.0
    same_months = truth["month"].dt.month.isin([1, 2, 3, 10, 11])
    assert (over & same_months).sum() >= 20
    expected = truth["expected_sick_leave_rate"]
    assert expected[over & same_months].mean() > expected[~over & same_months].mean()


def test_turnover_peaks_in_summer(district: Simulation) -> None:
    m = district.district.monthly
    by_month = m.groupby(m["month"].dt.month)["staff_leavers"].mean()
    assert by_month[[6, 7, 8]].mean() > 1.5 * by_month.drop([6, 7, 8]).mean()
    assert by_month.idxmax() in (6, 7, 8)


def test_turnover_higher_in_poor_areas_and_with_high_sick_leave(district: Simulation) -> None:
    m = _with_truth(district)
    per_kg = m.groupby("kindergarten_id").agg(
        leavers=("staff_leavers", "sum"),
        fte=("staff_fte", "sum"),
        sick=("sick_leave_rate", "mean"),
        poor=("living_conditions_index", "first"),
    )
    per_kg["rate"] = per_kg["leavers"] / per_kg["fte"]
    poor = per_kg["poor"] >= 0.7
    assert per_kg.loc[poor, "rate"].mean() > 1.1 * per_kg.loc[~poor, "rate"].mean()
    assert per_kg["rate"].corr(per_kg["sick"]) > 0.2


def test_waiting_lists_where_demand_exceeds_places(district: Simulation) -> None:
    m = district.district.monthly.merge(district.truth["monthly"], on=["kindergarten_id", "month"])
    high = m["demand_pressure"] > 1.05
    low = m["demand_pressure"] < 0.95
    assert high.any() and low.any()
    assert m.loc[high, "waiting_list"].mean() > 2 * m.loc[low, "waiting_list"].mean()
    by_month = m.groupby(m["month"].dt.month)["waiting_list"].mean()
    assert by_month[[3, 4, 5]].mean() > 1.5 * by_month[[8, 9]].mean(), "after the 1 March deadline"


def test_staffing_close_to_the_norm(district: Simulation) -> None:
    m = district.district.monthly
    m = m[m["month"] >= pd.Period("2019-08", freq="M")]
    norm_fte = (2 * m["children_under3"] + m["children_over3"]) / 6
    ratio = m["staff_fte"] / norm_fte
    assert 0.95 <= ratio.median() <= 1.1
    assert ratio.between(0.8, 1.4).mean() > 0.9
    assert m["staff_fte"].between(2, 35).all()


def test_nearly_all_meet_the_staffing_norm_on_paper_as_oslos_do(district: Simulation) -> None:
    """Udir's December 2024 figures for Oslo kindergartens (data/real): every one meets the
    staffing norm on contracted staff (children per employee ≤ 6, under-3s counted double).
    The simulated district's Decembers since the norm came into force do nearly all, at a
    children-per-employee level inside the real range; its shortfalls come after sick leave,
    and more in poorer areas."""
    real = pd.read_csv(REAL_KINDERGARTENS)["children_per_employee"].dropna()
    assert (real <= 6.0).mean() == 1.0  # the real figure the simulator is checked against
    m = _with_truth(district)
    m = m[m["month"] >= pd.Period("2019-12", freq="M")]
    places = 2 * m["children_under3"] + m["children_over3"]
    per_employee = places / m["staff_fte"]
    december = m["month"].dt.month == 12
    on_paper = per_employee[december] <= 6.0 + 1e-9
    assert on_paper.mean() >= 0.9, f"only {on_paper.mean():.0%} meet the norm on paper"
    assert real.quantile(0.02) <= per_employee[december].median() <= 6.0
    # what a planner meets: staff on hand after sick leave, below the norm in many months and
    # further below it in poor areas (more sick leave, turnover, slower refills)
    on_hand = m["staff_fte"] * (1 - m["sick_leave_rate"])
    shortfall = (1 - on_hand / (places / 6.0)).clip(lower=0)
    poor = m["living_conditions_index"] >= 0.7
    assert (shortfall > 0).mean() > 0.3, "sick leave leaves many kindergarten-months short"
    assert shortfall[poor].mean() > 1.1 * shortfall[~poor].mean()


def test_pedagogues_below_the_norm_more_often_in_poor_areas(district: Simulation) -> None:
    m = _with_truth(district)
    m = m[m["month"] >= pd.Period("2018-10", freq="M")]
    norm = np.ceil((2 * m["children_under3"] + m["children_over3"]) / 14)
    below = m["pedagogue_fte"] < norm
    poor = m["living_conditions_index"] >= 0.7
    assert below[poor].mean() > 1.3 * below[~poor].mean()
    assert below.mean() < 0.4, "most kindergarten-months meet the pedagogue norm"
    assert (m["pedagogue_fte"] <= m["staff_fte"]).all()


def test_resource_pedagogues_follow_decisions(district: Simulation) -> None:
    m = district.district.monthly
    per_kg = m.groupby("kindergarten_id")[["resource_pedagogue_fte", "vedtak_31"]].mean()
    assert per_kg["resource_pedagogue_fte"].corr(per_kg["vedtak_31"]) > 0.7
    # the key is set in August and January, so it stays fixed in between
    changes = m.groupby("kindergarten_id")["resource_pedagogue_fte"].diff().fillna(0) != 0
    assert changes[~m["month"].dt.month.isin([1, 8])].mean() < 0.05


# --- population ----------------------------------------------------------------------------------


def test_population_has_real_rows_projections_and_areas_that_add_up(small: Simulation) -> None:
    pop = small.district.population
    assert pop is not None
    real = pd.read_csv(
        Path(__file__).resolve().parents[2] / "data/real/oslo_population_0_5_by_district.csv"
    )
    ours = pop[pop["area"].isna() & ~pop["projection"]].drop(
        columns=["area", "projection", "simulated"]
    )
    theirs = real[real["district"] == "Bydel Gamle Oslo"]
    pd.testing.assert_frame_equal(
        ours.reset_index(drop=True), theirs.reset_index(drop=True), check_dtype=False
    )
    assert pop["year"].max() == END.year + 2
    assert pop.loc[pop["year"] > 2024, "projection"].all()
    areas = pop[pop["area"].notna()].groupby("year")["population_1_5"].sum()
    districts = pop[pop["area"].isna()].set_index("year")["population_1_5"]
    pd.testing.assert_series_equal(areas, districts, check_names=False)
    assert pop.loc[pop["area"].notna(), "area"].nunique() == 6


# --- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_files_validate_and_read_back(small: Simulation, tmp_path: Path, fmt: str) -> None:
    from data.validate import read_district

    written = write_simulation(small, tmp_path, fmt)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {
        f"monthly.{fmt}",
        f"kindergartens.{fmt}",
        f"population.{fmt}",
        "SIMULATED.md",
        f"truth/events.{fmt}",
        f"truth/monthly.{fmt}",
        "truth/SIMULATED.md",
    } <= names
    label = (tmp_path / "SIMULATED.md").read_text(encoding="utf-8")
    assert SIMULATED_LABEL in label and "seed: 1" in label and "preset: district" in label
    back = read_district(tmp_path)
    assert back.simulated
    assert not [w for w in back.warnings if getattr(w, "severity", "warning") == "error"]
    pd.testing.assert_series_equal(
        back.monthly["children_over3"].reset_index(drop=True),
        small.district.monthly["children_over3"].reset_index(drop=True),
        check_dtype=False,
    )
    assert len(back.kindergartens) == 8


@pytest.mark.parametrize("preset", ["district", "city", "nation"])
@pytest.mark.parametrize("n", [1, 7])
def test_tiny_simulations_of_every_preset_pass_the_contract(preset: str, n: int) -> None:
    from data.validate import validate_district

    month = pd.Period("2020-05", freq="M")
    sim = simulate_district(preset, seed=n, n_kindergartens=n, start=month, end=month)  # type: ignore[arg-type]
    validate_district(sim.district)
    assert len(sim.district.kindergartens) == n
    assert sim.district.kindergartens["kindergarten_id"].is_unique


def test_duckdb_file_gets_its_truth_beside_it(small: Simulation, tmp_path: Path) -> None:
    from data.validate import read_district

    database = tmp_path / "oslo.duckdb"
    written = write_simulation(small, database, "duckdb")
    assert written[0] == database
    assert (tmp_path / "oslo_truth" / "events.parquet").exists()
    assert (tmp_path / "oslo_truth" / "SIMULATED.md").exists()
    assert not (tmp_path / "SIMULATED.md").exists(), "never label a folder we did not make"
    back = read_district(database)
    assert back.simulated and len(back.monthly) == len(small.district.monthly)


def test_kindergartens_keep_admitting_to_the_end_of_the_simulation() -> None:
    """The last August's intake is as large as the one before: kindergartens that never close
    must not stop admitting in the simulation's final months (they once did, and under-3
    enrolment halved in the last August)."""
    sim = simulate_district(
        "district", seed=7, start=pd.Period("2023-01", "M"), end=pd.Period("2026-10", "M")
    )
    under3 = sim.district.monthly.groupby("month")["children_under3"].sum()
    last_august = under3[pd.Period("2026-09", "M")]
    august_before = under3[pd.Period("2025-09", "M")]
    assert last_august > 0.85 * august_before
