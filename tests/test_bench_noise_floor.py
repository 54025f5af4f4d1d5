"""The forecast benchmark's noise floors (benchmarks/noise_floor.py) and the simulator's snapshot
hook they stand on (simulate/engine.py), on a small SIMULATED district."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from benchmarks.noise_floor import (
    ORACLE_TARGETS,
    expected_coverage,
    floor_coverage,
    floor_wape,
    full_state_oracle,
    replay_run,
    vedtak31_oracle_wape,
)
from data.contract import KINDERGARTEN_ID, MONTH
from simulate import Simulation, simulate_district
from simulate.engine import RECORDED, continue_months

START, END = pd.Period("2021-01", freq="M"), pd.Period("2024-06", freq="M")
ORIGINS = [pd.Period("2022-11", freq="M"), pd.Period("2023-05", freq="M")]


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate_district("district", seed=5, n_kindergartens=9, start=START, end=END)


def _scored_rows(sim: Simulation, origins: list[pd.Period]) -> pd.DataFrame:
    """Every kindergarten-month with an actual 1 … 12 months after each origin, in long format,
    with the value at the origin (``last``) where the origin month is in the data."""
    monthly = sim.district.monthly
    long = monthly.melt(
        id_vars=[KINDERGARTEN_ID, MONTH],
        value_vars=list(ORACLE_TARGETS),
        var_name="target",
        value_name="actual",
    )
    parts = []
    for origin in origins:
        ahead = long[(long[MONTH] > origin) & (long[MONTH] <= origin + 12)]
        last = long[long[MONTH] == origin].rename(columns={"actual": "last"}).drop(columns=MONTH)
        both = ahead.merge(last, on=[KINDERGARTEN_ID, "target"])
        both["origin"] = origin
        parts.append(both)
    return pd.concat(parts, ignore_index=True)


def _index(months: pd.PeriodIndex, month: pd.Period) -> int:
    where = months.get_loc(month)
    assert isinstance(where, int)
    return where


# --- the snapshot hook ---------------------------------------------------------------------------


def test_same_seed_still_gives_identical_tables_and_snapshots_change_nothing(
    sim: Simulation,
) -> None:
    again = simulate_district("district", seed=5, n_kindergartens=9, start=START, end=END)
    pd.testing.assert_frame_equal(sim.district.monthly, again.district.monthly)
    for name, table in sim.truth.items():
        pd.testing.assert_frame_equal(table, again.truth[name])
    # the replay takes snapshots and checks its children and § 31 cell by cell against the data
    run, ids = replay_run(sim, ORIGINS)
    assert sorted(ids) == sorted(sim.district.kindergartens[KINDERGARTEN_ID])
    assert sorted(run.snapshots) == [_index(run.months, o) for o in ORIGINS]


def test_replay_refuses_data_it_does_not_reproduce(sim: Simulation) -> None:
    monthly = sim.district.monthly.copy()
    monthly.loc[monthly.index[10], "children_under3"] += 1
    tampered = dataclasses.replace(sim, district=dataclasses.replace(sim.district, monthly=monthly))
    with pytest.raises(RuntimeError, match="differs from its data in 1 children_under3 values"):
        replay_run(tampered, ORIGINS)


def test_continuing_a_snapshot_with_the_runs_own_generator_reproduces_the_run(
    sim: Simulation,
) -> None:
    # snapshots whose next month is an August, a January (both reset the resource key from three
    # months back: the oldest history a snapshot keeps) and a December; 14 months cross the age
    # shift, school leavers in June and July, and both key months again
    at = [pd.Period(m, freq="M") for m in ("2022-07", "2022-11", "2022-12")]
    run, _ = replay_run(sim, at)
    for month in at:
        t = _index(run.months, month)
        snapshot = run.snapshots[t]
        for _ in range(2):  # twice: continuing must not change the snapshot
            ahead = continue_months(snapshot.generator(), snapshot, 14)
            assert list(ahead.months) == list(run.months[t + 1 : t + 15])
            np.testing.assert_array_equal(ahead.active, run.active[t + 1 : t + 15])
            for name, _dtype in RECORDED:
                np.testing.assert_array_equal(
                    ahead.values[name], run.values[name][t + 1 : t + 15], err_msg=name
                )
    with pytest.raises(ValueError, match="can continue 0"):
        continue_months(snapshot.generator(), snapshot, snapshot.months_left + 1)


def test_tiled_paths_are_independent_and_keep_the_capacity_cap(sim: Simulation) -> None:
    run, ids = replay_run(sim, ORIGINS)
    snapshot = run.snapshots[_index(run.months, ORIGINS[1])]
    paths, n = 200, len(ids)
    ahead = continue_months(np.random.default_rng(0), snapshot.tiled(paths), 3)
    under3 = ahead.values["children_under3"].reshape(3, paths, n)
    over3 = ahead.values["children_over3"].reshape(3, paths, n)
    running = ahead.active.reshape(3, paths, n)[:, 0, :]
    assert (ahead.active.reshape(3, paths, n) == running[:, None, :]).all()  # the calendar is known
    # fresh randomness: the copies of a running kindergarten do not all agree three months on
    spread = (under3 + over3).std(axis=1)[2]
    assert (spread[running[2]] > 0).all()
    # each copy draws its own refugee events: some copies get one in three months, most do not
    settled = ahead.values["refugee_arrivals"].reshape(3, paths, n).sum(axis=(0, 2)) > 0
    assert 0 < settled.mean() < 0.5
    # no path puts a kindergarten beyond 1.15 × its capacity in places (a child under 3 = 2)
    capacity = sim.district.kindergartens.set_index(KINDERGARTEN_ID).loc[ids, "capacity"]
    assert (2 * under3 + over3 <= np.floor(1.15 * capacity.to_numpy())).all()


# --- the oracle ----------------------------------------------------------------------------------


def test_one_path_on_the_runs_own_generator_reproduces_the_data(sim: Simulation) -> None:
    oracle = full_state_oracle(sim, ORIGINS, paths=1, continue_run=True)
    floors = floor_wape(oracle, _scored_rows(sim, ORIGINS))
    assert list(floors.index) == sorted(ORACLE_TARGETS)
    assert (floors["wape"] == 0.0).all()
    assert (floors["n"] > 150).all() and (floors["missing"] == 0).all()
    assert floors["mc_noise"].isna().all()  # one path has nothing to resample
    # the one path is the actual: its randomised PIT is uniform on [0, 1], inside the central
    # 80 % with chance 0.8 in every cell
    covered = floor_coverage(oracle, _scored_rows(sim, ORIGINS))
    assert covered.to_numpy() == pytest.approx([0.8] * len(ORACLE_TARGETS))


def test_the_oracles_expected_coverage_is_the_randomised_pit_of_a_plain_loop() -> None:
    rng = np.random.default_rng(7)
    paths = rng.poisson(6.0, size=(40, 25)).astype(np.float64)  # counts: many ties
    actual = rng.poisson(6.0, size=40).astype(np.float64)
    actual[0] = 40.0  # above every path: never covered
    below = (paths < actual[:, None]).mean(axis=1)
    at_or_below = (paths <= actual[:, None]).mean(axis=1)
    got = expected_coverage(below, at_or_below)
    for i in range(40):
        # the PIT drawn uniformly between F(y−) and F(y), 200,000 times
        pit = below[i] + rng.random(200_000) * (at_or_below[i] - below[i])
        assert got[i] == pytest.approx(((pit >= 0.1) & (pit <= 0.9)).mean(), abs=0.005)
    assert got[0] == 0.0
    # no tie: the PIT is F(y) itself, covered when inside [0.1, 0.9]
    assert list(expected_coverage(np.array([0.05, 0.5]), np.array([0.05, 0.5]))) == [0.0, 1.0]


def test_a_perfectly_informed_forecaster_covers_about_80_percent(sim: Simulation) -> None:
    rows = _scored_rows(sim, ORIGINS)
    covered = floor_coverage(full_state_oracle(sim, ORIGINS, paths=301, seed=3), rows)
    # 9 kindergartens, 2 origins: the years' common shocks move it, but not far
    assert covered.between(0.65, 0.95).all(), covered


def test_the_oracle_beats_a_last_value_forecast_on_children(sim: Simulation) -> None:
    rows = _scored_rows(sim, ORIGINS)
    floors = floor_wape(full_state_oracle(sim, ORIGINS, paths=301, seed=3), rows)
    for target in ("children_under3", "children_over3"):
        g = rows[rows["target"] == target]
        last_value = (g["actual"] - g["last"]).abs().sum() / g["actual"].sum()
        wape, noise = float(floors.loc[target, "wape"]), float(floors.loc[target, "mc_noise"])
        assert noise < 0.01
        assert 0 < wape <= last_value + noise  # > 0: the future is random, no forecast is perfect


def test_floor_wape_scores_the_given_rows() -> None:
    origin, month = pd.Period("2024-01", freq="M"), pd.Period("2024-02", freq="M")
    rows = pd.DataFrame(
        {
            KINDERGARTEN_ID: ["a", "b", "c"],
            "origin": origin,
            "month": month,
            "target": "children_over3",
            "actual": [10.0, 20.0, 30.0],
        }
    )
    forecasts = rows.iloc[:2].drop(columns="actual")
    forecasts["p50"] = [12.0, 20.0]
    forecasts["p50_mc_0"] = [12.0, 21.0]
    forecasts["p50_mc_1"] = [12.0, 20.0]
    floors = floor_wape(forecasts, rows)
    # c has no forecast: scored on a and b, |10 − 12| / (10 + 20); resamples 3/30 and 2/30
    assert floors.loc["children_over3", "wape"] == pytest.approx(2 / 30)
    assert floors.loc["children_over3", "mc_noise"] == pytest.approx(np.std([3, 2], ddof=1) / 30)
    assert floors.loc["children_over3", "n"] == 2 and floors.loc["children_over3", "missing"] == 1


def test_the_decision_process_oracle_beats_a_last_value_forecast_on_vedtak31(
    sim: Simulation,
) -> None:
    rows = _scored_rows(sim, ORIGINS)
    g = rows[rows["target"] == "vedtak_31"]
    last_value = (g["actual"] - g["last"]).abs().sum() / g["actual"].sum()
    floor = vedtak31_oracle_wape(sim, ORIGINS, paths=301)
    assert 0 < floor <= last_value


# --- the capacity family's full-state oracle ------------------------------------------------------


@pytest.fixture(scope="module")
def capacity_sim() -> Simulation:
    from simulate.capacity import simulate_capacity

    return simulate_capacity(seed=4, n_kindergartens=10, start=START, end=END)


def test_capacity_oracle_forecasts_every_running_kindergarten_within_capacity(
    capacity_sim: Simulation,
) -> None:
    origin = pd.Period("2023-06", freq="M")
    oracle = full_state_oracle(capacity_sim, [origin], paths=101, bootstrap=5)
    assert set(oracle["target"]) == set(ORACLE_TARGETS)
    assert sorted(oracle["horizon"].unique()) == list(range(1, 13))
    under3 = oracle[oracle["target"] == "children_under3"].set_index([KINDERGARTEN_ID, "month"])
    over3 = oracle[oracle["target"] == "children_over3"].set_index([KINDERGARTEN_ID, "month"])
    capacity = capacity_sim.district.kindergartens.set_index(KINDERGARTEN_ID)["capacity"]
    places = 2 * under3["p50"] + over3.loc[under3.index, "p50"]
    cap = capacity.loc[under3.index.get_level_values(0)].to_numpy()
    # the median of each count is at most the median path's; places never pass capacity
    assert (places.to_numpy() <= cap + 1).all()
    sick = oracle[oracle["target"] == "sick_leave_rate"]["p50"]
    assert sick.between(0.005, 0.4).all() and sick.nunique() > 10
    # scored on the data's rows, the oracle beats carrying the origin's value forward
    rows = _scored_rows(capacity_sim, [origin])
    floors = floor_wape(oracle, rows)
    for target in ("children_under3", "children_over3"):
        g = rows[rows["target"] == target]
        naive = (g["actual"] - g["last"]).abs().sum() / g["actual"].abs().sum()
        assert floors.loc[target, "wape"] < naive
        assert floors.loc[target, "missing"] == 0


def test_capacity_oracle_refuses_data_its_replay_does_not_reproduce(
    capacity_sim: Simulation,
) -> None:
    monthly = capacity_sim.district.monthly.copy()
    monthly.loc[5, "children_over3"] += 1
    tampered = dataclasses.replace(
        capacity_sim, district=dataclasses.replace(capacity_sim.district, monthly=monthly)
    )
    with pytest.raises(RuntimeError, match="differs from its data in 1 children_over3"):
        full_state_oracle(tampered, [pd.Period("2023-06", freq="M")], paths=3)
