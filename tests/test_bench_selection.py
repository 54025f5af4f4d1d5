"""bench_selection's reference errors: the last value at the origin and the full-state floor's
median, summed per target on the rows the variants were scored on (a plain loop; the oracle
replaced by a known forecast)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import benchmarks.noise_floor
from benchmarks.bench_selection import reference_errors


def test_reference_errors_match_a_plain_loop(monkeypatch):
    rng = np.random.default_rng(0)
    months = pd.period_range("2024-01", periods=10, freq="M")
    monthly = pd.DataFrame(
        [
            {"kindergarten_id": k, "month": m, "vedtak_31": float(rng.integers(0, 6))}
            for k in ("a", "b", "c")
            for m in months
        ]
    )
    values = monthly.set_index(["kindergarten_id", "month"])["vedtak_31"]
    rows = []
    for origin in months[[3, 5]]:
        for k in ("a", "b", "c"):
            for h in (1, 2, 3):
                rows.append(
                    {
                        "kindergarten_id": k,
                        "origin": origin,
                        "month": origin + h,
                        "target": "vedtak_31",
                        "actual": values[(k, origin + h)],
                    }
                )
    predictions = pd.DataFrame(rows)
    # the oracle's median: the actual plus one on every other row
    oracle = predictions.assign(p50=predictions["actual"] + np.arange(len(predictions)) % 2)
    monkeypatch.setattr(
        benchmarks.noise_floor,
        "full_state_oracle",
        lambda simulation, origins, paths, bootstrap: oracle.drop(columns="actual"),
    )
    simulation = SimpleNamespace(district=SimpleNamespace(monthly=monthly))
    got = reference_errors(simulation, predictions, paths=5)
    last = sum(
        abs(r.actual - values[(r.kindergarten_id, r.origin)]) for r in predictions.itertuples()
    )
    assert got.loc["vedtak_31", "last_error"] == pytest.approx(last)
    assert got.loc["vedtak_31", "floor_error"] == pytest.approx(len(predictions) // 2)
