"""The August intake mechanism features (features.intake_mechanism): against plain loops, one
kindergarten and one month at a time, point-in-time, and in the feature table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.contract import KINDERGARTEN_ID, MONTH
from features.age_cohorts import learned_age_cohort_estimate
from features.intake_mechanism import (
    MECHANISM_FEATURES,
    intake_mechanism_features,
    intake_mechanism_grids,
)


def panel(seed: int, n_rows: int = 4, n_months: int = 40, summer_fall: bool = True):
    """Random counts; without ``summer_fall`` the over-3s never fall in June–July (school
    starters counted to the end of July, leaving with the August shift)."""
    rng = np.random.default_rng(seed)
    calendar_month = (np.arange(n_months) + 4) % 12 + 1  # starts in May
    under3 = rng.integers(5, 25, size=(n_rows, n_months)).astype(float)
    over3 = rng.integers(10, 45, size=(n_rows, n_months)).astype(float)
    waiting = rng.integers(0, 30, size=(n_rows, n_months)).astype(float)
    if not summer_fall:
        for t in np.flatnonzero(np.isin(calendar_month, (6, 7))):
            over3[:, t] = over3[:, t - 1] + 1
    gaps = rng.random(under3.shape) < 0.08
    under3[gaps], over3[gaps], waiting[gaps] = np.nan, np.nan, np.nan
    under3[0, :9], over3[0, :9], waiting[0, :9] = np.nan, np.nan, np.nan  # opens later
    capacity = rng.integers(60, 120, size=n_rows).astype(float)
    return under3, over3, waiting, capacity, calendar_month


def plain_loop(under3, over3, waiting, capacity, calendar_month):
    """The module docstring's rules, one kindergarten and month at a time (cohorts from the
    estimator, which has its own plain-loop test)."""
    estimate = learned_age_cohort_estimate(under3, over3, calendar_month)
    cohorts = estimate.cohorts
    out = {name: np.full(under3.shape, np.nan) for name in MECHANISM_FEATURES}
    for k in range(under3.shape[0]):
        last_august = {}
        last_march = np.nan
        for t, month in enumerate(calendar_month):
            u, o = under3[k, t], over3[k, t]
            places = 2 * u + o
            if month == 8:
                before = t - 1
                younger_in_july = cohorts[k, before, 0] if before >= 0 else np.nan
                places_in_july = 2 * under3[k, before] + over3[k, before] if before >= 0 else np.nan
                last_august = {
                    "under3_intake_last_august": u - younger_in_july,
                    "places_used_change_last_august": places - places_in_july,
                    "capacity_utilisation_last_august": places / capacity[k],
                }
            if month == 3:
                last_march = waiting[k, t]
            if np.isnan(u) or np.isnan(o):
                continue
            younger, older, youngest, middle, oldest = cohorts[k, t]
            out["places_free_after_next_august"][k, t] = capacity[k] - (
                2 * younger + older + youngest + middle
            )
            out["estimated_crossing_next_august"][k, t] = older
            # the leavers-to-be are the oldest cohort; in July, where it has gone by then, the
            # middle one (next year's oldest)
            gone = month == 7 and estimate.leaving_month[t] == 7
            out["estimated_school_leavers_next_summer"][k, t] = middle if gone else oldest
            for name in last_august:
                out[name][k, t] = last_august[name]
            window = [
                (2 * under3[k, s] + over3[k, s]) / capacity[k]
                for s in range(max(0, t - 11), t + 1)
                if not np.isnan(under3[k, s]) and not np.isnan(over3[k, s])
            ]
            out["capacity_utilisation_peak_12m"][k, t] = max(window)
            out["waiting_list_at_deadline"][k, t] = last_march
    return out


@pytest.mark.parametrize("summer_fall", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_a_plain_loop(seed: int, summer_fall: bool) -> None:
    under3, over3, waiting, capacity, calendar_month = panel(seed, summer_fall=summer_fall)
    got = intake_mechanism_grids(under3, over3, capacity, calendar_month, waiting)
    expected = plain_loop(under3, over3, waiting, capacity, calendar_month)
    assert list(got) == list(MECHANISM_FEATURES)
    for name in MECHANISM_FEATURES:
        np.testing.assert_allclose(got[name], expected[name], atol=1e-9, err_msg=name)


def test_places_free_counts_the_age_shift_by_hand() -> None:
    # a full kindergarten of 60 places in May: 10 under 3 (4 younger, 6 older), 40 over 3 in
    # thirds; at the shift the 6 older under-3s cross, the oldest third (40/3) leaves
    under3 = np.array([[10.0]])
    over3 = np.array([[40.0]])
    got = intake_mechanism_grids(under3, over3, np.array([60.0]), np.array([5]))
    younger, older = 10 * 0.45, 10 * 0.55  # the estimator's start share
    assert got["places_free_after_next_august"][0, 0] == pytest.approx(
        60 - (2 * younger + older + 2 * 40 / 3)
    )


@pytest.mark.parametrize("cut", [14, 15, 16, 27])
def test_point_in_time(cut: int) -> None:
    """Values at months ≤ t do not change when the months after t are removed."""
    under3, over3, waiting, capacity, calendar_month = panel(3)
    full = intake_mechanism_grids(under3, over3, capacity, calendar_month, waiting)
    short = intake_mechanism_grids(
        under3[:, : cut + 1],
        over3[:, : cut + 1],
        capacity,
        calendar_month[: cut + 1],
        waiting[:, : cut + 1],
    )
    for name in MECHANISM_FEATURES:
        np.testing.assert_array_equal(full[name][:, : cut + 1], short[name], err_msg=name)


def test_long_frame_matches_the_grid_and_keeps_gaps_as_gaps() -> None:
    under3, over3, waiting, capacity, calendar_month = panel(4, n_rows=3, n_months=30)
    months = pd.period_range("2020-05", periods=30, freq="M")
    rows = [
        {
            KINDERGARTEN_ID: f"k{k}",
            MONTH: months[t],
            "u3": under3[k, t],
            "o3": over3[k, t],
            "wait": waiting[k, t],
            "cap": capacity[k],
        }
        for k in range(3)
        for t in range(30)
        if not np.isnan(under3[k, t])
    ]
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # any row order
    got = intake_mechanism_features(
        frame,
        id_col=KINDERGARTEN_ID,
        month_col=MONTH,
        under3_col="u3",
        over3_col="o3",
        capacity_col="cap",
        waiting_list_col="wait",
    )
    expected = intake_mechanism_grids(under3, over3, capacity, calendar_month, waiting)
    k = frame[KINDERGARTEN_ID].str[1:].astype(int).to_numpy()
    t = np.asarray([(m - months[0]).n for m in frame[MONTH]])
    for name in MECHANISM_FEATURES:
        np.testing.assert_allclose(got[name].to_numpy(), expected[name][k, t], rtol=1e-6)
    without = intake_mechanism_features(
        frame.drop(columns="wait"),
        id_col=KINDERGARTEN_ID,
        month_col=MONTH,
        under3_col="u3",
        over3_col="o3",
        capacity_col="cap",
    )
    assert "waiting_list_at_deadline" not in without.columns


def test_in_the_feature_table_on_the_capacity_family() -> None:
    """On SIMULATED capacity-family data the table carries the features, and the estimate of the
    places free after the next August tracks the simulator's true free places at that August."""
    from features.table import build_feature_table
    from simulate.capacity import simulate_capacity

    sim = simulate_capacity(seed=2, n_kindergartens=20, start=pd.Period("2019-01", "M"))
    table = build_feature_table(sim.district)
    assert set(MECHANISM_FEATURES) <= set(table.columns)
    truth = sim.truth["monthly"]
    august = truth[truth[MONTH].dt.month == 8][[KINDERGARTEN_ID, MONTH, "free_places_after_shift"]]
    may = table[table[MONTH].dt.month == 5][
        [KINDERGARTEN_ID, MONTH, "places_free_after_next_august"]
    ].assign(**{MONTH: lambda f: f[MONTH] + 3})
    both = may.merge(august, on=[KINDERGARTEN_ID, MONTH]).dropna()
    assert len(both) > 60
    correlation = np.corrcoef(
        both["places_free_after_next_august"], both["free_places_after_shift"]
    )
    assert correlation[0, 1] > 0.6
