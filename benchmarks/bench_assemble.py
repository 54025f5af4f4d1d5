"""Assembly benchmark: a folder of raw exports (``sources.toml``) → the contract's tables.

Run as ``python -m benchmarks.bench_assemble [--preset nation] [--seed N] [--months N]
[--folder RAW]``. It simulates the preset (SIMULATED data; ``--months`` counts back from the
preset's last month), writes it as raw exports with ``simulate.raw.write_raw_exports`` (twelve
files: CSV in three dialects incl. Latin-1 with decimal commas, Parquet above 60,000 rows,
names and HR codes as keys, quarterly and yearly periods with lags) — or takes ``--folder`` —
and times ``data.assemble.assemble_folder`` (read, match, check, merge, validate) once, in a
fresh process whose RSS high-water mark (sampled every 5 ms) is the peak memory printed.
Goal on 2 cores: under 60 s and 2 GB for the nation preset (~5,500 kindergartens × 10 years).
It prints the figures; it asserts nothing. The peer is reading the same data set's tidy CSV
folder with ``data.validate.read_district`` (printed as a ratio).
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path


class _RssPeak:
    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self._stop = threading.Event()
        self.start = 0
        self.peak = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self) -> _RssPeak:
        self.start = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def _assemble(folder: str) -> tuple[float, float, str]:
    from data.assemble import assemble_folder

    with _RssPeak() as rss:
        t0 = time.perf_counter()
        assembly = assemble_folder(Path(folder))
        seconds = time.perf_counter() - t0
    district = assembly.district
    n_quality = 0 if district.quality is None else len(district.quality)
    counts = (
        f"{len(district.kindergartens):,} kindergartens, {len(district.monthly):,} monthly rows, "
        f"{n_quality:,} quality rows, {len(assembly.sources)} sources"
    )
    return seconds, rss.peak / 2**20, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="nation", choices=("district", "city", "nation"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--months", type=int, default=120, help="months of data (default 120)")
    parser.add_argument("--folder", type=Path, default=None, help="an existing raw folder")
    args = parser.parse_args(argv)

    from data.validate import read_district
    from data.writers import write_district
    from simulate import simulate_district
    from simulate.raw import write_raw_exports
    from simulate.simulation import DEFAULT_END

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder
        tidy = None
        if folder is None:
            start = DEFAULT_END - (args.months - 1)
            t0 = time.perf_counter()
            sim = simulate_district(args.preset, seed=args.seed, start=start)
            print(
                f"simulated {args.preset} ({len(sim.district.kindergartens):,} kindergartens, "
                f"{len(sim.district.monthly):,} monthly rows) in {time.perf_counter() - t0:.1f} s"
            )
            folder = Path(tmp) / "raw"
            t0 = time.perf_counter()
            written = write_raw_exports(sim.district, folder)
            size = sum(p.stat().st_size for p in written) / 2**20
            print(
                f"wrote {len(written)} raw files ({size:,.0f} MB) in "
                f"{time.perf_counter() - t0:.1f} s"
            )
            tidy = Path(tmp) / "tidy"
            write_district(sim.district, tidy, "csv")
            del sim
        # a fresh process, so its peak memory is the assembly's alone
        context = multiprocessing.get_context("spawn")
        with context.Pool(1) as pool:
            seconds, peak_mb, counts = pool.apply(_assemble, (str(folder),))
        print(f"assemble: {seconds:.1f} s, peak RSS {peak_mb:,.0f} MB (whole process); {counts}")
        met = seconds < 60 and peak_mb < 2048
        print(f"goal: < 60 s and < 2048 MB → {'met' if met else 'NOT met'}")
        if tidy is not None:
            t0 = time.perf_counter()
            read_district(tidy)
            peer = time.perf_counter() - t0
            print(
                f"peer read_district(tidy CSV): {peer:.1f} s; ratio assemble / tidy read: "
                f"{seconds / peer:.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
