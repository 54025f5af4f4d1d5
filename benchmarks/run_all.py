"""Run every benchmark in turn (``make benchmarks``). Each prints its own figures and ratios
against the named peers; nothing here asserts a time."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "bench_features",
    "bench_assemble",
    "bench_forecast",
    "bench_forecast_time",
    "bench_allocation",
    "bench_decisions",
    "bench_load",
)


def main(argv: list[str] | None = None) -> int:
    names = argv if argv else list(BENCHMARKS)
    for name in names:
        print(f"\n===== benchmarks.{name} =====", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        module.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
