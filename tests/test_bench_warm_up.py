"""benchmarks.warm_up: each timed model fitted twice on a few kindergartens before any timing."""

from __future__ import annotations

import dataclasses

from benchmarks.bench_forecast import simulate_family
from benchmarks.warm_up import WARM_UP_KINDERGARTENS, small_district, warm_up
from data.contract import KINDERGARTEN_ID
from features import age_cohorts


def test_small_district_keeps_the_longest_running_kindergartens_and_their_rows_alone() -> None:
    district = simulate_family("cohort", 1, None).district
    months = district.monthly.groupby(KINDERGARTEN_ID).size()
    # a late opener first by id: it is passed over for one with more months
    late = str(months.idxmin())
    renamed = {late: "0-late", **{kid: f"1-{kid}" for kid in months.index if kid != late}}
    district = dataclasses.replace(
        district,
        kindergartens=district.kindergartens.assign(
            **{KINDERGARTEN_ID: district.kindergartens[KINDERGARTEN_ID].map(renamed)}
        ),
        monthly=district.monthly.assign(
            **{KINDERGARTEN_ID: district.monthly[KINDERGARTEN_ID].map(renamed)}
        ),
    )
    assert months.min() < months.max()
    small = small_district(district, 2)
    counts = district.monthly.groupby(KINDERGARTEN_ID).size()
    longest = sorted(counts.index, key=lambda kid: (-counts[kid], kid))[:2]
    assert "0-late" not in longest
    assert sorted(small.kindergartens[KINDERGARTEN_ID]) == sorted(longest)
    assert sorted(small.monthly[KINDERGARTEN_ID].unique()) == sorted(longest)
    assert len(small.monthly) == district.monthly[KINDERGARTEN_ID].isin(longest).sum()
    assert small.population is district.population  # the district's population, as before


def test_warm_up_fits_each_model_twice_and_leaves_no_remembered_estimate() -> None:
    district = simulate_family("cohort", 1, None).district
    warmed = warm_up(district, ["children_under3", "sick_leave_rate"], mlforecast_threads=(1,))
    assert warmed.kindergartens == WARM_UP_KINDERGARTENS
    assert list(warmed.first) == list(warmed.second) == ["ours", "mlforecast 1 thread"]
    assert all(s > 0 for s in [*warmed.first.values(), *warmed.second.values()])
    # a timed fit after the warm-up starts without a learned age estimate, as on new data
    assert not age_cohorts._LEARNED_ESTIMATES
    line = warmed.describe()
    assert "untimed" in line and f"{warmed.first['ours']:.2f} s then" in line
