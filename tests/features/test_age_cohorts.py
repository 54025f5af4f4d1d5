"""The birth-cohort estimate from the monthly totals (features.age_cohorts): a plain-loop oracle,
the age rule's bookkeeping, point-in-time, and — against the simulator's true cohorts (SIMULATED
district) — that it says more about next July's school leavers than a fixed share does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.age_cohorts import (
    INITIAL_CROSSING_SHARE,
    MIDDLE_OVER3,
    OLDER_SHARE_OF_JOINERS,
    OLDER_UNDER3,
    OLDEST_OVER3,
    REANCHOR_CANDIDATES,
    YOUNGER_UNDER3,
    age_cohort_estimate,
    cohort_moves_ahead,
    learned_age_cohort_estimate,
    months_until,
)


def panel(seed: int = 0, n_rows: int = 5, n_months: int = 40):
    rng = np.random.default_rng(seed)
    calendar_month = (np.arange(n_months) + 4) % 12 + 1  # starts in May
    under3 = rng.integers(5, 25, size=(n_rows, n_months)).astype(float)
    over3 = rng.integers(10, 45, size=(n_rows, n_months)).astype(float)
    gaps = rng.random(under3.shape) < 0.07
    under3[gaps], over3[gaps] = np.nan, np.nan
    under3[0, :9], over3[0, :9] = np.nan, np.nan  # opens later
    return under3, over3, calendar_month


def plain_loop(under3, over3, calendar_month, older_share, initial, weight=0.0, misfits=None):
    """The rules of the module docstring, one month and one kindergarten at a time; returns the
    cohorts and the school-leaving month in force at each month. With ``weight`` each August's
    crossing moves that far from the estimate towards the observed one (the over-3 change plus
    the oldest cohort leaving with the shift, less the mean gap of every observation so far);
    ``misfits`` (a list) receives the summed squared gap up to each month."""
    out = np.full((*under3.shape, 5), np.nan)
    states = [None] * under3.shape[0]
    summer_fall = oldest_before_june = 0.0
    gap_sum, gap_n, misfit = 0.0, 0, 0.0
    in_summer = True
    leaving = []
    for t, month in enumerate(calendar_month):
        july_rows = []
        if month == 8:
            observations = {}
            for k, state in enumerate(states):
                if state is not None and not np.isnan(over3[k, t]):
                    observed = over3[k, t] - sum(state[2:5]) + state[4]
                    observations[k] = (state[1], observed, state[0])
                    gap_sum += observed - state[1]
                    gap_n += 1
            for estimated, observed, _ in observations.values():
                gap = observed - gap_sum / gap_n - estimated
                misfit += gap**2
            for k, state in enumerate(states):
                if state is None:
                    continue
                state = [0.0, *state[:4]]
                if k in observations and weight > 0:
                    estimated, observed, younger = observations[k]
                    crossing = estimated + weight * (observed - gap_sum / gap_n - estimated)
                    crossing = min(max(crossing, 0.0), estimated + younger)
                    state[1] -= crossing - estimated
                    state[2] += crossing - estimated
                states[k] = state
        if misfits is not None:
            misfits.append(misfit)
        for k in range(under3.shape[0]):
            state = states[k]
            u, o = under3[k, t], over3[k, t]
            if np.isnan(u) or np.isnan(o):
                continue
            if state is None:
                states[k] = [u * (1 - initial), u * initial, o / 3, o / 3, o / 3]
                out[k, t] = states[k]
                continue
            state[0:2] = spread(state[0:2], u, [1 - older_share, older_share])
            over = list(state[2:5])
            if month in (6, 7):
                if month == 6:
                    oldest_before_june += over[2]
                fall = max(sum(over) - o, 0.0)
                summer_fall += min(fall, over[2])
                over[2] -= min(fall, over[2])
            over = spread(over, o, [1 / 3] * 3)
            state[2:5] = over
            july_rows.append(k)
        if month == 7:
            in_summer = oldest_before_june <= 0 or summer_fall >= 0.5 * oldest_before_june
        for k in july_rows:
            state = states[k]
            if month == 7 and in_summer:
                o = over3[k, t]
                state[2:5] = [*spread(state[2:4], o, [0.5, 0.5]), 0.0]
            out[k, t] = state
        leaving.append(7 if in_summer else 8)
    return out, np.array(leaving)


def spread(cohorts, total, weights):
    current = sum(cohorts)
    change = total - current
    if change >= 0:
        return [c + change * w for c, w in zip(cohorts, weights, strict=True)]
    shares = [c / current for c in cohorts] if current > 0 else [1 / len(cohorts)] * len(cohorts)
    return [max(c + change * s, 0.0) for c, s in zip(cohorts, shares, strict=True)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_a_plain_loop(seed):
    under3, over3, calendar_month = panel(seed)
    got = age_cohort_estimate(under3, over3, calendar_month)
    expected, leaving = plain_loop(
        under3, over3, calendar_month, OLDER_SHARE_OF_JOINERS, INITIAL_CROSSING_SHARE
    )
    np.testing.assert_allclose(got.cohorts, expected, atol=1e-9)
    np.testing.assert_array_equal(got.leaving_month, leaving)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_a_plain_loop_where_school_starters_leave_with_the_august_shift(seed):
    under3, over3, calendar_month = panel(seed)
    for t in np.flatnonzero(np.isin(calendar_month, (6, 7))):
        over3[:, t] = over3[:, t - 1] + 1  # no summer fall: the school starters stay to August
    got = age_cohort_estimate(under3, over3, calendar_month)
    expected, leaving = plain_loop(
        under3, over3, calendar_month, OLDER_SHARE_OF_JOINERS, INITIAL_CROSSING_SHARE
    )
    np.testing.assert_allclose(got.cohorts, expected, atol=1e-9)
    np.testing.assert_array_equal(got.leaving_month, leaving)
    assert (got.leaving_month[calendar_month == 8] == 8).all()


def reanchored_plain_loop(under3, over3, calendar_month, weight):
    """The plain loop with the default shares, re-anchored by ``weight``: (cohorts, school-leaving
    months, misfit up to each month)."""
    misfits: list[float] = []
    cohorts, leaving = plain_loop(
        under3,
        over3,
        calendar_month,
        OLDER_SHARE_OF_JOINERS,
        INITIAL_CROSSING_SHARE,
        weight=weight,
        misfits=misfits,
    )
    return cohorts, leaving, misfits


@pytest.mark.parametrize(("seed", "weight"), [(0, 0.3), (1, 0.5), (2, 1.0)])
def test_reanchoring_matches_a_plain_loop(seed, weight):
    under3, over3, calendar_month = panel(seed, n_months=60)
    got = age_cohort_estimate(under3, over3, calendar_month, reanchor_weight=weight)
    expected, leaving, misfits = reanchored_plain_loop(under3, over3, calendar_month, weight)
    np.testing.assert_allclose(got.cohorts, expected, atol=1e-9)
    np.testing.assert_array_equal(got.leaving_month, leaving)
    np.testing.assert_allclose(got.crossing_misfit, misfits, rtol=1e-9)
    plain, _, _ = reanchored_plain_loop(under3, over3, calendar_month, 0.0)
    assert not np.allclose(expected, plain, equal_nan=True), "the weight must change something"


@pytest.mark.parametrize("seed", [0, 3])
def test_learned_reanchoring_takes_each_month_from_the_candidate_that_fitted_best(seed):
    under3, over3, calendar_month = panel(seed, n_months=60)
    runs = [
        reanchored_plain_loop(under3, over3, calendar_month, w)[::2] for w in REANCHOR_CANDIDATES
    ]
    got = learned_age_cohort_estimate(under3, over3, calendar_month)
    assert len(set(got.reanchor_weight.tolist())) > 1, "the panel must make the choice matter"
    for t in range(len(calendar_month)):
        misfit = [m[t] for _, m in runs]
        best = int(np.argmin(misfit))
        assert got.reanchor_weight[t] == REANCHOR_CANDIDATES[best]
        np.testing.assert_allclose(got.cohorts[:, t], runs[best][0][:, t], atol=1e-9)


def test_learned_reanchoring_is_point_in_time():
    under3, over3, calendar_month = panel(6, n_months=60)
    full = learned_age_cohort_estimate(under3, over3, calendar_month)
    for cut in (20, 33, 47):
        short = learned_age_cohort_estimate(under3[:, :cut], over3[:, :cut], calendar_month[:cut])
        np.testing.assert_array_equal(full.cohorts[:, :cut], short.cohorts)
        np.testing.assert_array_equal(full.reanchor_weight[:cut], short.reanchor_weight)


@pytest.mark.parametrize("seed", [0, 3])
def test_learned_estimate_is_the_same_kept_run_again_or_remembered(seed, monkeypatch):
    """The learned estimate keeps small candidates' runs instead of running the chosen ones
    again, and remembers its result per input: all three give the same numbers to the bit, and
    the remembered one cannot be changed by a caller."""
    import features.age_cohorts as age_cohorts

    under3, over3, calendar_month = panel(seed, n_months=60)
    monkeypatch.setattr(age_cohorts, "_LEARNED_ESTIMATES", age_cohorts.OrderedDict())
    kept = learned_age_cohort_estimate(under3, over3, calendar_month)
    assert len(set(kept.reanchor_weight.tolist())) > 1, "the panel must make the choice matter"
    assert learned_age_cohort_estimate(under3.copy(), over3, calendar_month) is kept
    with pytest.raises(ValueError, match="read-only"):
        kept.cohorts[0, 0, 0] = 1.0
    monkeypatch.setattr(age_cohorts, "_LEARNED_ESTIMATES", age_cohorts.OrderedDict())
    monkeypatch.setattr(age_cohorts, "_KEEP_CANDIDATES_BYTES", 0)
    run_again = learned_age_cohort_estimate(under3, over3, calendar_month)
    assert run_again is not kept
    for name in ("cohorts", "leaving_month", "crossing_misfit", "reanchor_weight"):
        np.testing.assert_array_equal(getattr(run_again, name), getattr(kept, name))
    changed = over3.copy()
    changed[1, 30] += 1.0
    assert learned_age_cohort_estimate(under3, changed, calendar_month) is not run_again
    # forgotten, the same input is computed again (as a fit on new data would), to the same numbers
    assert learned_age_cohort_estimate(under3, over3, calendar_month) is run_again
    age_cohorts.forget_learned_estimates()
    assert len(age_cohorts._LEARNED_ESTIMATES) == 0
    fresh = learned_age_cohort_estimate(under3, over3, calendar_month)
    assert fresh is not run_again
    np.testing.assert_array_equal(fresh.cohorts, run_again.cohorts)


def test_learned_estimate_carries_on_through_trailing_empty_months_as_if_estimated(
    monkeypatch,
):
    """Trailing months with no count at all are carried on from the months before, not
    estimated: the result is the estimate through them, to the bit, on panels ending at every
    calendar month, with an over-3 count alone in some last months and a July in many tails (a
    forecast's grid runs a whole year past the data): carried on through it unless the last
    month read is a June."""
    import features.age_cohorts as age_cohorts

    rng = np.random.default_rng(11)
    carried = carried_through_july = 0
    for trial in range(160):
        n_rows, n_months = int(rng.integers(2, 7)), int(rng.integers(17, 60))
        calendar_month = (np.arange(n_months) + trial) % 12 + 1
        under3 = rng.integers(0, 25, size=(n_rows, n_months)).astype(float)
        over3 = rng.integers(0, 45, size=(n_rows, n_months)).astype(float)
        under3[rng.random(under3.shape) < 0.1] = np.nan
        over3[rng.random(over3.shape) < 0.1] = np.nan
        tail = int(rng.integers(1, 15))
        under3[:, -tail:] = np.nan
        over3[:, -tail:] = np.nan
        over3[rng.integers(n_rows), -tail - 1] = 7.0  # over-3 alone the month before
        under3[:, -tail - 1] = np.where(rng.random(n_rows) < 0.5, np.nan, under3[:, -tail - 1])
        monkeypatch.setattr(age_cohorts, "_LEARNED_ESTIMATES", age_cohorts.OrderedDict())
        got = learned_age_cohort_estimate(under3, over3, calendar_month)
        want = age_cohorts._learned_estimate(under3, over3, calendar_month, REANCHOR_CANDIDATES)
        was_carried = (
            got is not age_cohorts._LEARNED_ESTIMATES[next(iter(age_cohorts._LEARNED_ESTIMATES))]
        )
        carried += was_carried
        carried_through_july += was_carried and bool((calendar_month[-tail:] == 7).any())
        for name in ("cohorts", "leaving_month", "crossing_misfit", "reanchor_weight"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name), name)
    assert carried > 100, "most panels must take the carrying-on path"
    assert carried_through_july > 30, "many of them through an empty July"


def test_a_trailing_july_settles_the_leaving_month_again():
    """Data ending in a June without falls after summers where the school starters left: the
    empty July after it settles the leaving month on August, as the estimate through it does."""
    calendar_month = (np.arange(30) + 4) % 12 + 1  # May; column 25 is the third June
    under3, over3 = np.full((2, 30), 10.0), np.full((2, 30), 30.0)
    over3[:, 2:] = 20.0  # the first July: the school starters leave
    under3[:, 26:], over3[:, 26:] = np.nan, np.nan
    got = learned_age_cohort_estimate(under3, over3, calendar_month)
    assert got.leaving_month[25] == 7 and (got.leaving_month[26:] == 8).all()


def test_school_starters_counted_to_the_end_of_july_leave_with_the_shift():
    # the over-3s hold steady through the summer and fall at August: the oldest cohort is kept at
    # the end of July and leaves with the August shift, and from July it is next year's leavers
    calendar_month = np.array([5, 6, 7, 8, 9])
    under3 = np.array([[10.0, 10, 10, 10, 10]])
    over3 = np.array([[30.0, 30, 30, 30, 30]])
    estimate = age_cohort_estimate(
        under3, over3, calendar_month, older_share_of_joiners=0.0, initial_crossing_share=0.6
    )
    assert estimate.leaving_month.tolist() == [7, 7, 8, 8, 8]
    assert estimate.cohorts[0, 2, OLDEST_OVER3] == pytest.approx(10.0)
    _, leavers = cohort_moves_ahead(
        estimate.cohorts, calendar_month, horizon=1, leaving_month=estimate.leaving_month
    )
    assert leavers[0, 2] == pytest.approx(10.0), "from July they leave at the August ahead"
    assert leavers[0, 0] == 0.0, "from May the August lies 3 months ahead"


def test_cohorts_add_up_to_the_counts_and_gaps_stay_gaps():
    under3, over3, calendar_month = panel(4)
    cohorts = age_cohort_estimate(under3, over3, calendar_month).cohorts
    present = ~np.isnan(under3)
    np.testing.assert_allclose(cohorts[..., :2].sum(axis=2)[present], under3[present])
    np.testing.assert_allclose(cohorts[..., 2:].sum(axis=2)[present], over3[present])
    assert np.isnan(cohorts[~present]).all()
    assert (cohorts[present] >= 0).all()


def test_august_moves_the_older_under3_cohort_over_the_age_line():
    # a kindergarten that never changes size: each August its older under-3s become over 3
    # and as many new one-year-olds arrive (all of them in the younger cohort here)
    calendar_month = np.array([5, 6, 7, 8, 9])
    under3 = np.array([[10.0, 10, 10, 10, 10]])
    over3 = np.array([[30.0, 30, 24, 30, 30]])  # six leave for school in July, six cross
    cohorts = age_cohort_estimate(
        under3, over3, calendar_month, older_share_of_joiners=0.0, initial_crossing_share=0.6
    ).cohorts
    assert cohorts[0, 2, OLDER_UNDER3] == pytest.approx(6.0)
    assert cohorts[0, 2, OLDEST_OVER3] == 0.0, "every school starter has gone by the end of July"
    august = cohorts[0, 3]
    assert august[YOUNGER_UNDER3] == pytest.approx(6.0), "the gap is refilled by one-year-olds"
    assert august[OLDER_UNDER3] == pytest.approx(4.0), "last year's younger cohort moved up"
    crossing, leavers = cohort_moves_ahead(cohorts, calendar_month, horizon=3)
    assert crossing[0, 0] == pytest.approx(6.0), "from May the August lies 3 months ahead"
    assert crossing[0, 3] == 0.0, "from August the next crossing is 12 months on"
    assert leavers[0, 0] == pytest.approx(cohorts[0, 0, OLDEST_OVER3])
    assert leavers[0, 2] == 0.0, "from July the next school start is 12 months on"
    _, a_year_on = cohort_moves_ahead(cohorts, calendar_month, horizon=12)
    assert a_year_on[0, 2] == pytest.approx(cohorts[0, 2, MIDDLE_OVER3])


def test_months_until_is_strictly_ahead():
    assert months_until(np.array([7, 8, 9, 12, 1]), 8).tolist() == [1, 12, 11, 8, 7]


def test_point_in_time_the_future_does_not_change_the_past():
    under3, over3, calendar_month = panel(5)
    full = age_cohort_estimate(under3, over3, calendar_month).cohorts
    cut = 25
    short = age_cohort_estimate(under3[:, :cut], over3[:, :cut], calendar_month[:cut]).cohorts
    np.testing.assert_array_equal(full[:, :cut], short)


def test_says_more_about_school_leavers_than_a_fixed_share():
    """On a simulated district, the oldest over-3 cohort estimated in April tracks the children
    who really leave for school in June–July (the simulator's truth) more closely than the same
    share of April's over-3s for every kindergarten."""
    from simulate import simulate_district

    simulation = simulate_district("district", seed=3)
    monthly = simulation.district.monthly
    truth = simulation.truth["monthly"]
    ids = sorted(monthly["kindergarten_id"].unique())
    months = pd.period_range(monthly["month"].min(), monthly["month"].max(), freq="M")
    under3 = _grid(monthly, "children_under3", ids, months)
    over3 = _grid(monthly, "children_over3", ids, months)
    leavers = _grid(truth, "school_leavers", ids, months)
    cohorts = age_cohort_estimate(under3, over3, np.asarray(months.month)).cohorts
    april = [i for i, m in enumerate(months) if m.month == 4 and i >= 36]
    estimate = np.concatenate([cohorts[:, i, OLDEST_OVER3] for i in april])
    actual = np.concatenate([leavers[:, i + 2] + leavers[:, i + 3] for i in april])
    april_over3 = np.concatenate([over3[:, i] for i in april])
    ok = ~np.isnan(estimate) & ~np.isnan(actual)
    fixed_share = actual[ok].sum() / april_over3[ok].sum()
    ours = np.corrcoef(estimate[ok], actual[ok])[0, 1]
    fixed = np.corrcoef(fixed_share * april_over3[ok], actual[ok])[0, 1]
    assert ours > fixed + 0.01, (ours, fixed)


def _grid(frame: pd.DataFrame, column: str, ids: list, months: pd.PeriodIndex) -> np.ndarray:
    out = np.full((len(ids), len(months)), np.nan)
    k = pd.Index(ids).get_indexer(frame["kindergarten_id"])
    t = (frame["month"].array.asi8 - months[0].ordinal).astype(int)
    keep = k >= 0
    out[k[keep], t[keep]] = frame[column].to_numpy(float)[keep]
    return out


@pytest.mark.parametrize("family", ["capacity", "cohort"])
def test_learned_reanchoring_finds_the_crossing_at_least_as_well(family):
    """Against the simulators' true crossing at each August (SIMULATED, seed 4: not a tuning or
    report seed), the older under-3 cohort estimated in July by the learned re-anchoring is
    closer on the capacity family, where the over-3 change at August shows the crossing (mean
    absolute error 1.66 against 1.90 on the tuning seeds 1–3), and no worse on the cohort family,
    whose large over-3 intake at August hides it (the weight learned there is 0)."""
    from simulate import simulate_district
    from simulate.capacity import simulate_capacity

    if family == "capacity":
        simulation = simulate_capacity(seed=4)
        crossed = "crossed_into_over3"
    else:
        simulation = simulate_district("district", seed=4)
        crossed = "aged_into_over3"
    monthly, truth = simulation.district.monthly, simulation.truth["monthly"]
    ids = sorted(monthly["kindergarten_id"].unique())
    months = pd.period_range(monthly["month"].min(), monthly["month"].max(), freq="M")
    under3 = _grid(monthly, "children_under3", ids, months)
    over3 = _grid(monthly, "children_over3", ids, months)
    crossing = _grid(truth, crossed, ids, months)
    calendar_month = np.asarray(months.month)
    augusts = [i for i, m in enumerate(months) if m.month == 8 and i >= 25]
    plain = age_cohort_estimate(under3, over3, calendar_month).cohorts
    learned = learned_age_cohort_estimate(under3, over3, calendar_month).cohorts

    def error(cohorts: np.ndarray) -> float:
        estimate = np.concatenate([cohorts[:, i - 1, OLDER_UNDER3] for i in augusts])
        actual = np.concatenate([crossing[:, i] for i in augusts])
        ok = ~np.isnan(estimate) & ~np.isnan(actual)
        return float(np.abs(estimate[ok] - actual[ok]).mean())

    if family == "capacity":
        assert error(learned) < 0.95 * error(plain), (error(learned), error(plain))
    else:
        assert error(learned) <= error(plain) + 0.02, (error(learned), error(plain))


def test_candidates_in_one_pass_are_the_runs_one_by_one_to_the_bit():
    """The learned estimate's candidates run side by side: each is the plain run with its weight,
    to the bit, on panels of 1–60 kindergartens (numpy sums 8 or more values pairwise), with
    gaps and kindergartens that start late."""
    from features.age_cohorts import candidate_estimates

    rng = np.random.default_rng(17)
    for trial in range(60):
        n_rows, n_months = int(rng.integers(1, 61)), int(rng.integers(1, 70))
        calendar_month = (np.arange(n_months) + trial) % 12 + 1
        under3 = rng.integers(0, 25, size=(n_rows, n_months)).astype(float)
        over3 = rng.integers(0, 45, size=(n_rows, n_months)).astype(float)
        under3[rng.random(under3.shape) < 0.1] = np.nan
        over3[rng.random(over3.shape) < 0.1] = np.nan
        late = rng.random(n_rows) < 0.3
        first = rng.integers(0, n_months, size=n_rows)
        for k in np.flatnonzero(late):
            under3[k, : first[k]] = over3[k, : first[k]] = np.nan
        runs = candidate_estimates(under3, over3, calendar_month, REANCHOR_CANDIDATES)
        for weight, got in zip(REANCHOR_CANDIDATES, runs, strict=True):
            want = age_cohort_estimate(under3, over3, calendar_month, reanchor_weight=weight)
            for name in ("cohorts", "leaving_month", "crossing_misfit", "reanchor_weight"):
                np.testing.assert_array_equal(getattr(got, name), getattr(want, name), name)
