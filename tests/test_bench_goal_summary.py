"""The forecasting benchmark's goals over seeds (benchmarks/goal_summary.py), on hand-made
scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.goal_summary import goal_summary, print_goal_summary

GOALS = ("children_under3", "children_over3", "vedtak_31")


def _table(wape: dict[str, tuple[float, float, float]], coverage: float) -> pd.DataFrame:
    """bench_forecast's scored table: index target, columns (metric, model)."""
    columns = pd.MultiIndex.from_product(
        [["wape", "coverage_80"], ["ours", "autoets", "mlforecast"]]
    )
    rows = {t: [*w, coverage, 0.7, 0.5] for t, w in wape.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def test_ratio_and_gap_closed_against_the_best_peer_and_the_floor() -> None:
    table = _table({"children_under3": (0.060, 0.080, 0.070), "vedtak_31": (0.30, 0.32, 0.34)}, 0.8)
    floors = {"children_under3": 0.050, "vedtak_31": 0.29}
    summary = goal_summary("district", 2, table, floors, GOALS)
    assert summary.ratio("children_under3") == pytest.approx(0.060 / 0.070)
    # the best peer is 0.070, the floor 0.050: ours at 0.060 has come half the way
    assert summary.gap_closed("children_under3") == pytest.approx(0.5)
    assert summary.gap_closed("vedtak_31") == pytest.approx(2 / 3)
    assert "children_over3" not in summary.ours  # not scored in this run, not invented


def test_summary_counts_the_runs_that_meet_the_gap_goal(capsys: pytest.CaptureFixture[str]) -> None:
    met = _table({"children_under3": (0.059, 0.080, 0.070)}, 0.81)
    missed = _table({"children_under3": (0.062, 0.080, 0.070)}, 0.79)
    runs = [
        goal_summary(
            "capacity",
            1,
            met,
            {"children_under3": 0.05},
            GOALS,
            {"ours": 2.0, "mlforecast": 4.0},
            {"children_under3": 0.83},
        ),
        goal_summary(
            "capacity",
            2,
            missed,
            {"children_under3": 0.05},
            GOALS,
            {"ours": 5.0, "mlforecast": 4.0},
            {"children_under3": 0.75},
        ),
        goal_summary("cohort", 1, missed, {}, GOALS),
    ]
    # gap 0.070 − 0.050 = 0.020: 0.059 closes 0.55 of it (goal 0.5 met), 0.062 closes 0.40
    assert runs[0].gap_closed("children_under3") == pytest.approx(0.55)
    assert runs[1].gap_closed("children_under3") == pytest.approx(0.40)
    assert np.isnan(runs[2].gap_closed("children_under3"))  # no floor: no gap to close
    print_goal_summary(runs, GOALS)
    out = capsys.readouterr().out
    # the mean over the family's runs, (0.55 + 0.40) / 2 = 0.475, in three digits and judged
    assert (
        "capacity children_under3: gap goal met in 1 of 2 runs (mean gap closed 0.475, goal "
        "0.500: missed)" in out
    )
    assert "cohort children_under3: gap goal met in 0 of 1 runs" in out
    assert "0.55*" in out and "0.40 " in out
    # coverage pooled over the family's seeds: (0.81 + 0.79) / 2 = 0.800, within 0.78–0.82
    assert "80 % coverage pooled 0.800 (within" in out
    # beside it the full-state oracle's expected coverage on the same rows, pooled the same way;
    # not printed where a seed has none (the cohort run here)
    assert "the full-state oracle's, calibrated: 0.790)" in out
    assert out.count("the full-state oracle's") == 1
    assert "capacity time: ours under mlforecast's in 1 of 2 runs" in out


def test_a_ratio_from_cached_peer_seconds_is_not_judged(capsys: pytest.CaptureFixture[str]) -> None:
    table = _table({"children_under3": (0.059, 0.080, 0.070)}, 0.80)
    caveat = "32 of 32 peer runs' seconds from the cache, timed at 1-minute load 5.0–6.2"
    runs = [
        goal_summary("cohort", 1, table, {}, GOALS, {"ours": 2.0, "mlforecast": 4.0}),
        goal_summary(
            "cohort", 2, table, {}, GOALS, {"ours": 2.0, "mlforecast": 6.0}, time_caveat=caveat
        ),
    ]
    print_goal_summary(runs, GOALS)
    out = capsys.readouterr().out
    # the run timed together is judged; the one with the peers' cached seconds is not
    assert "ratio 0.50 *" in out
    assert f"ratio 0.33 (not judged: {caveat})" in out and "ratio 0.33 *" not in out
    assert "cohort time: ours under mlforecast's in 1 of 1 runs timed together (1 not judged" in out
