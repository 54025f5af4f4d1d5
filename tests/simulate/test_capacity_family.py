"""The capacity family: what a domain person would check (the August fill up to capacity as far
as the waiting list allows, every child accounted for, reproducible by seed, valid data)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.contract import KINDERGARTEN_ID, MONTH
from simulate.capacity import continue_capacity, run_capacity, simulate_capacity
from simulate.capacity.process import CapacityFixed, CapacityState, places_used, step
from simulate.capacity.settings import CapacitySettings
from simulate.simulation import Simulation

REPO = Path(__file__).resolve().parents[2]
QUIET = CapacitySettings(
    leave_rate=0.0,
    leave_rate_summer=0.0,
    closure_rate=0.0,
    housing_shock_rate=0.0,
    waiting_withdrawal=0.0,
    rolling_applicants_per_place=0.0,
)


@pytest.fixture(scope="module")
def capacity() -> Simulation:
    return simulate_capacity(seed=3, start=pd.Period("2021-01", freq="M"), n_kindergartens=20)


def _one_kindergarten(groups: list[int], wait_u3: int, wait_o3: int, capacity: int = 60):
    fixed = CapacityFixed(
        capacity=np.array([capacity]),
        under3_share=np.array([0.5]),
        popularity=np.ones(1),
        sick_level=np.full(1, 0.09),
        staffing_margin=np.zeros(1),
        propensity31=np.ones(1),
        propensity37=np.ones(1),
        open_index=np.array([-1]),
        copy=np.zeros(1, dtype=np.int64),
    )
    one = np.zeros(1)
    state = CapacityState(
        groups=np.array([groups], dtype=np.int64),
        wait_under3=np.array([wait_u3]),
        wait_over3=np.array([wait_o3]),
        demand=np.ones(1),
        closed_places=np.zeros(1, dtype=np.int64),
        closure_left=np.zeros(1, dtype=np.int64),
        vedtak31=np.zeros(1, dtype=np.int64),
        vedtak37=np.zeros(1, dtype=np.int64),
        staff_target=np.full(1, 10.0),
        vacancy=one.copy(),
        pedagogue_target=np.full(1, 4.0),
        resource=one.copy(),
        sick_ar=one.copy(),
        minority_logit=one.copy(),
        low_income_logit=one.copy(),
    )
    return fixed, state


def test_august_fills_the_freed_places_up_to_capacity_when_the_waiting_list_allows() -> None:
    # 60 places; before August: 6 + 8 under 3 (28 places), 10 + 10 + 9 over 3 (29 places)
    fixed, state = _one_kindergarten([6, 8, 10, 10, 9], wait_u3=40, wait_o3=10)
    out = step(np.random.default_rng(0), fixed, state, 10, 8, 1.0, 1.0, QUIET)
    # after the shift: 0 + 6 under 3 (12 places) and 8 + 10 + 10 over 3 (28): 20 places free
    assert out["free_places_after_shift"][0] == 60 - 12 - 28
    assert out["school_leavers"][0] == 9 and out["crossed_into_over3"][0] == 8
    assert places_used(state.groups)[0] == 60  # filled up to approved capacity
    assert out["intake_under3"][0] == 9  # the under-3 departments: 30 places, 12 in use
    assert out["intake_over3"][0] == 2


def test_august_takes_every_applicant_when_demand_is_short() -> None:
    fixed, state = _one_kindergarten([6, 8, 10, 10, 9], wait_u3=4, wait_o3=1)
    out = step(np.random.default_rng(0), fixed, state, 10, 8, 1.0, 1.0, QUIET)
    assert out["intake_under3"][0] == 4 and out["intake_over3"][0] == 1
    assert places_used(state.groups)[0] == 12 + 28 + 8 + 1 < 60
    assert state.wait_under3[0] == 0 and out["waiting_list"][0] == 0


def test_no_intake_in_june_and_july_and_rolling_intake_otherwise() -> None:
    fixed, state = _one_kindergarten([2, 8, 10, 10, 9], wait_u3=30, wait_o3=0)
    step(np.random.default_rng(0), fixed, state, 10, 6, 1.0, 1.0, QUIET)
    assert state.wait_under3[0] == 30
    filled = replace(QUIET, rolling_fill_probability=1.0)
    step(np.random.default_rng(0), fixed, state, 11, 10, 1.0, 1.0, filled)
    assert places_used(state.groups)[0] == 60 - (60 - 2 * 10 - 29) % 2


def test_every_child_is_accounted_for_month_to_month(capacity: Simulation) -> None:
    truth = capacity.truth["monthly"].sort_values([KINDERGARTEN_ID, MONTH])
    data = truth.merge(
        capacity.district.monthly[[KINDERGARTEN_ID, MONTH, "children_under3", "children_over3"]],
        how="left",
    )
    flows = truth["intake_under3"] + truth["intake_over3"] + truth["rolling_intake"]
    flows = flows - truth["movers"] - truth["school_leavers"]
    children = data["children_under3"] + data["children_over3"]
    change = children.groupby(data[KINDERGARTEN_ID]).diff()
    consecutive = (
        data.groupby(KINDERGARTEN_ID)[MONTH]
        .diff()
        .map(lambda d: d is not pd.NaT and getattr(d, "n", None) == 1)
    )
    both = change.notna() & consecutive
    assert both.sum() > 500
    assert (change[both] == flows[both]).all()


def test_kindergartens_run_near_capacity_and_never_above_it(capacity: Simulation) -> None:
    truth = capacity.truth["monthly"].merge(
        capacity.district.kindergartens[[KINDERGARTEN_ID, "capacity"]]
    )
    fill = truth["places_in_use"] / truth["capacity"]
    assert (truth["places_in_use"] <= truth["capacity"]).all()
    may = truth[MONTH].dt.month == 5
    assert 0.85 <= fill[may].median() <= 1.0


def test_august_shift_moves_children_from_under3_to_over3(capacity: Simulation) -> None:
    m = capacity.district.monthly
    by_month = m.groupby(m[MONTH].dt.month)[["children_under3"]].mean()["children_under3"]
    assert by_month[8] < by_month[7] and by_month[8] < by_month[5]


def test_same_seed_same_data_another_seed_other_data() -> None:
    start, end = pd.Period("2024-01", freq="M"), pd.Period("2025-06", freq="M")
    a = simulate_capacity(seed=5, start=start, end=end, n_kindergartens=6)
    b = simulate_capacity(seed=5, start=start, end=end, n_kindergartens=6)
    c = simulate_capacity(seed=6, start=start, end=end, n_kindergartens=6)
    pd.testing.assert_frame_equal(a.district.monthly, b.district.monthly)
    assert not a.district.monthly["children_under3"].equals(c.district.monthly["children_under3"])
    assert a.district.source == "simulated:capacity:seed=5" and a.district.simulated
    assert a.district.kindergartens["name"].str.endswith("(simulated)").all()


def test_snapshots_change_no_draw_and_continuations_start_from_the_state() -> None:
    origin = pd.Period("2024-12", freq="M")
    kwargs = {
        "seed": 2,
        "start": pd.Period("2024-01", freq="M"),
        "end": pd.Period("2025-12", freq="M"),
        "n_kindergartens": 5,
    }
    _, plain, _ = run_capacity(**kwargs)
    _, snapped, _ = run_capacity(snapshot_months=[origin], **kwargs)
    np.testing.assert_array_equal(
        plain.values["children_under3"], snapped.values["children_under3"]
    )
    futures = continue_capacity(snapped, origin, 12, 50, np.random.default_rng(1))
    assert futures["children_under3"].shape == (12, 50, 5)
    t0 = snapped.months.get_loc(origin)
    kids = snapped.values["children_under3"][t0] + snapped.values["children_over3"][t0]
    ahead = futures["children_under3"][0] + futures["children_over3"][0]
    # one month on, children move by a few at most: the paths start from the origin's state
    assert np.abs(np.median(ahead, axis=0) - kids).max() <= 3
    assert futures["children_under3"][7].std(axis=0).max() > 0  # the paths differ


def test_cli_simulates_the_capacity_process(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from serving.cli import app

    out = tmp_path / "cap"
    args = ["simulate", str(out), "--process", "capacity", "--seed", "4"]
    run = CliRunner().invoke(app, [*args, "--start", "2025-01", "--end", "2025-12"])
    assert run.exit_code == 0, run.output
    check = CliRunner().invoke(app, ["validate", str(out)])
    assert check.exit_code == 0, check.output
    assert "48 kindergartens" in check.output
    assert (out / "SIMULATED.md").exists()
