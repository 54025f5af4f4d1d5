"""bench_forecast_time's lines: wall and CPU seconds, fastest and median, ours / mlforecast."""

from __future__ import annotations

import time

import pytest

from benchmarks.bench_forecast_time import Timing, _timed, describe, main


def test_wall_and_cpu_lines_compare_fastest_and_median_separately() -> None:
    ours = [Timing(1.0, 1.6), Timing(0.8, 1.4), Timing(0.9, 2.0)]
    peer = [Timing(1.0, 1.0), Timing(2.0, 0.7), Timing(0.5, 0.8)]
    wall, cpu = describe(ours, peer)
    # wall: fastest 0.8 / 0.5, median 0.9 / 1.0
    assert "fastest 1.600, median 0.900 (goal < 1)" in wall
    # CPU: fastest 1.4 / 0.7, median 1.6 / 0.8
    assert cpu.startswith("CPU ") and "fastest 2.000, median 2.000" in cpu
    assert "goal" not in cpu


def test_timed_counts_cpu_apart_from_waiting() -> None:
    def busy_then_sleep() -> None:
        total = 0
        for i in range(200_000):
            total += i * i
        time.sleep(0.2)

    timing = _timed(busy_then_sleep)
    assert timing.wall >= 0.2
    assert timing.cpu < timing.wall - 0.15  # the sleep is wall time, not CPU


@pytest.mark.slow
def test_the_warm_up_line_comes_before_the_timings_unless_cold(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for cold in (False, True):
        argv = ["--families", "cohort", "--seed", "1", "--repeats", "1", "--targets"]
        argv.append("children_over3")
        assert main(argv + (["--cold"] if cold else [])) == 0
        lines = capsys.readouterr().out.splitlines()
        warm_up = [i for i, line in enumerate(lines) if line.startswith("warm-up, untimed")]
        timed = [i for i, line in enumerate(lines) if line.startswith("cohort    wall ours")]
        assert len(timed) == 1 and any(line.lstrip().startswith("CPU  ours") for line in lines)
        assert warm_up == ([] if cold else [timed[0] - 1])
