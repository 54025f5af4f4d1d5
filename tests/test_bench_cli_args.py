"""The benchmarks' shared argument types (benchmarks/cli_args.py)."""

from __future__ import annotations

import pytest

from benchmarks import bench_forecast
from benchmarks.cli_args import whole_numbers


def test_seeds_are_whole_numbers_separated_by_commas() -> None:
    assert whole_numbers("101,102, 103") == [101, 102, 103]
    assert whole_numbers("4,") == [4]


def test_a_seed_that_is_no_number_is_a_usage_error_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        bench_forecast.main(["--seeds", "101,x"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --seeds: comma-separated whole numbers expected, got 'x' in '101,x'" in err
    with pytest.raises(SystemExit) as stop:
        bench_forecast.main(["--origins", ""])
    assert stop.value.code == 2
    assert "got nothing" in capsys.readouterr().err
