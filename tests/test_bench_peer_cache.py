"""bench_forecast's peer cache: a second run reads the peers' forecasts and recorded times from
disk and prints the same peer figures; changed data misses the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.bench_forecast import _score, print_table
from benchmarks.peers import run_peers
from data.contract import KINDERGARTEN_ID, MONTH, District

TARGET = "children_under3"


def _district(shift: float = 0.0) -> District:
    months = pd.period_range("2019-01", "2023-12", freq="M")
    rng = np.random.default_rng(7)
    rows = []
    for k in range(4):
        season = 10 + 3 * np.sin(2 * np.pi * months.month.to_numpy() / 12)
        values = season + k + rng.normal(0, 0.5, len(months)) + shift
        rows.append(pd.DataFrame({KINDERGARTEN_ID: f"kg{k}", MONTH: months, TARGET: values}))
    monthly = pd.concat(rows, ignore_index=True)
    kindergartens = pd.DataFrame({KINDERGARTEN_ID: [f"kg{k}" for k in range(4)]})
    return District(kindergartens=kindergartens, monthly=monthly)


def _print_peer_table(district: District, forecasts: pd.DataFrame, seconds: dict) -> None:
    actual = district.monthly[[KINDERGARTEN_ID, MONTH, TARGET]].melt(
        id_vars=[KINDERGARTEN_ID, MONTH], var_name="target", value_name="actual"
    )
    predictions = forecasts.merge(actual, on=[KINDERGARTEN_ID, MONTH, "target"], how="left")
    # print_table needs an "ours" column: the peers' table with AutoETS standing in for it
    predictions = pd.concat(
        [predictions, predictions[predictions["model"] == "autoets"].assign(model="ours")]
    )
    table = _score(predictions).pivot(
        index="target", columns="model", values=["wape", "coverage_80", "zero_share"]
    )
    times = {
        "ours": 1.0,
        "autoets": seconds["autoets"],
        "mlforecast": min(seconds["mlforecast"], seconds["mlforecast 2 threads"]),
    }
    print_table(table, times, [TARGET])


def test_a_cached_run_prints_the_same_peer_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    district = _district()
    origins = [pd.Period("2023-06", freq="M")]
    first = run_peers(district, origins, [TARGET], family="t", seed=1, cache=tmp_path)
    assert not any(r.cached for r in first.runs)
    assert len(first.runs) == 3  # AutoETS, mlforecast on 1 and on 2 threads
    capsys.readouterr()
    _print_peer_table(district, first.forecasts, first.seconds)
    printed_first = capsys.readouterr().out

    second = run_peers(district, origins, [TARGET], family="t", seed=1, cache=tmp_path)
    assert all(r.cached for r in second.runs)
    assert second.seconds == first.seconds  # the recorded times, not a re-timing
    pd.testing.assert_frame_equal(second.forecasts, first.forecasts)
    assert [r.measured_at for r in second.runs] == [r.measured_at for r in first.runs]
    capsys.readouterr()
    _print_peer_table(district, second.forecasts, second.seconds)
    assert capsys.readouterr().out == printed_first
    assert "mlforecast" in printed_first and "AutoETS" in printed_first


def test_changed_data_or_seed_misses_the_cache(tmp_path: Path) -> None:
    origins = [pd.Period("2023-06", freq="M")]
    run_peers(_district(), origins, [TARGET], family="t", seed=1, cache=tmp_path)
    shifted = run_peers(_district(1.0), origins, [TARGET], family="t", seed=1, cache=tmp_path)
    assert not any(r.cached for r in shifted.runs)
    other_seed = run_peers(_district(), origins, [TARGET], family="t", seed=2, cache=tmp_path)
    assert not any(r.cached for r in other_seed.runs)
    # no cache: always refit, nothing written
    before = sorted(tmp_path.rglob("*"))
    uncached = run_peers(_district(), origins, [TARGET], family="t", seed=1, cache=None)
    assert not any(r.cached for r in uncached.runs)
    assert sorted(tmp_path.rglob("*")) == before
