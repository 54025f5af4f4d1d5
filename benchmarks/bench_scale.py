"""Scale run: district, city and nation presets end to end, as a city or national user runs them.

Run as ``python -m benchmarks.bench_scale [--presets district city nation] [--seed 1]
[--origins 12] [--scenarios 200] [--workdir DIR]``. Per preset it simulates the data set
(SIMULATED, parquet), then runs each step as its own ``bemanning`` process, the way a user does,
and records the wall time and the peak resident memory of that process (``wait4``'s maxrss):

* ``train`` (``--origins`` rolling origins, logged and registered in a fresh MLflow store),
* ``load`` (the registered model loaded, nothing else: what every forecast, plan, report and
  app reload pays first; also timed inside the process, without Python's start and MLflow's
  import, as ``load (in process)``),
* ``forecast`` (every kindergarten, 12 months, with drivers),
* ``plan`` (every kindergarten as one problem, ``--scenarios`` scenarios, explained; only for
  the presets in ``--as-one-presets``, default district and city: a nation is 365
  municipalities and districts that no one plans as one pool),
* ``plan per district`` (the default: one plan per district in parallel processes, each
  explained, with the city summary — what a city or national user runs).

It prints one table with the growth ratio of each figure from one preset to the next, and the
goals of issue #21 beside them (nation train < 4 GiB and 5 min, city train < 1 GiB, nation load
< 3 s, city plan < 15 s, nation plan < 5 min). Times are printed, never asserted; on a busy
shared machine they are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

POOLS = ("staff=8", "pedagogue=4", "resource_pedagogue=5")
#: (preset, step) → the goal in words and as a check of (seconds, GiB)
GOALS = {
    ("nation", "train"): ("< 5 min, < 4 GiB", lambda s, m: s < 300 and m < 4),
    ("city", "train"): ("< 1 GiB", lambda s, m: m < 1),
    ("nation", "load (in process)"): ("< 3 s", lambda s, m: s < 3),
    ("city", "plan"): ("< 15 s", lambda s, m: s < 15),
    ("nation", "plan per district"): ("< 5 min", lambda s, m: s < 300),
}
LOAD_SCRIPT = """
import sys, time
from training.registry import load_model
started = time.perf_counter()
load_model(sys.argv[1], sys.argv[2])
print(f"load seconds {time.perf_counter() - started:.2f}")
"""


@dataclass
class Step:
    preset: str
    step: str
    seconds: float
    peak_gib: float
    ok: bool


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS in GiB, exit code, last output lines) of one child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        tail = log.read().decode("utf-8", "replace").strip().splitlines()[-3:]
    return seconds, usage.ru_maxrss / 1024**2, child.returncode, "\n".join(tail)


def bench_preset(preset: str, args: argparse.Namespace, root: Path) -> list[Step]:
    folder = root / preset
    data = folder / "data"
    tracking = f"sqlite:///{folder / 'mlflow.db'}"
    env = {**os.environ, "PYTHONPATH": str(Path.cwd()), "MLFLOW_TRACKING_URI": tracking}
    cli = [sys.executable, "-c", "from serving.cli import main; main()"]
    model = "models:/bemanning-needs/1"
    folder.mkdir(parents=True, exist_ok=True)
    steps = {
        "simulate": [
            *cli,
            "simulate",
            str(data),
            "--preset",
            preset,
            "--seed",
            str(args.seed),
            "--format",
            "parquet",
        ],
        "train": [*cli, "train", str(data), "--origins", str(args.origins)],
        "load": [sys.executable, "-c", LOAD_SCRIPT, model, tracking],
        "forecast": [
            *cli,
            "forecast",
            str(data),
            "--model",
            model,
            "--out",
            str(folder / "forecasts.csv"),
        ],
        "plan": [
            *cli,
            "plan",
            str(data),
            "--as-one",
            "--model",
            model,
            "--scenarios",
            str(args.scenarios),
            *(f"--pool={p}" for p in POOLS),
            "--out",
            str(folder / "plan.csv"),
        ],
        "plan per district": [
            *cli,
            "plan",
            str(data),
            "--model",
            model,
            "--scenarios",
            str(args.scenarios),
            *(f"--pool={p}" for p in POOLS),
            "--out",
            str(folder / "plans.csv"),
        ],
    }
    if preset not in args.as_one_presets:
        del steps["plan"]
    out: list[Step] = []
    for name, command in steps.items():
        seconds, peak, code, tail = run_measured(command, env)
        print(f"{preset:>8} {name:<18} {seconds:8.1f} s {peak:6.2f} GiB  exit {code}", flush=True)
        if code != 0:
            print(tail, flush=True)
            out.append(Step(preset, name, seconds, peak, False))
            break
        out.append(Step(preset, name, seconds, peak, True))
        if name == "load":
            # the model load alone, without starting Python and importing MLflow
            inner = float(tail.rsplit("load seconds", 1)[-1].split()[0])
            print(f"{preset:>8} {'load (in process)':<18} {inner:8.1f} s", flush=True)
            out.append(Step(preset, "load (in process)", inner, peak, True))
    return out


def print_table(steps: list[Step], presets: list[str]) -> None:
    names = list(dict.fromkeys(s.step for s in steps))
    at = {(s.preset, s.step): s for s in steps}
    header = f"{'step':<18}" + "".join(f"{p:>22}" for p in presets) + "  growth" + "  goal"
    print()
    print(header)
    for name in names:
        cells, growth, goals = [], [], []
        previous = None
        for preset in presets:
            s = at.get((preset, name))
            if s is None:
                cells.append(f"{'not run':>22}")
                previous = None
                continue
            cells.append(f"{s.seconds:>10.1f} s {s.peak_gib:>6.2f} GiB")
            if previous is not None and previous.seconds > 0:
                growth.append(
                    f"{previous.preset}→{preset} ×{s.seconds / previous.seconds:.1f} time "
                    f"×{s.peak_gib / max(previous.peak_gib, 1e-9):.1f} memory"
                )
            goal = GOALS.get((preset, name))
            if goal is not None:
                met = "met" if goal[1](s.seconds, s.peak_gib) else "NOT met"
                goals.append(f"{preset} {goal[0]}: {met}")
            previous = s
        print(f"{name:<18}" + "".join(cells) + "  " + "; ".join(growth) + "  " + "; ".join(goals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--presets", nargs="+", default=["district", "city", "nation"], help="sizes to run"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--origins", type=int, default=12, help="backtest origins of train")
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the data and stores")
    parser.add_argument(
        "--as-one-presets",
        nargs="*",
        default=["district", "city"],
        help="presets whose kindergartens are also planned as one problem (plan --as-one)",
    )
    args = parser.parse_args()
    print("SIMULATED data; every step its own process (wall time, peak resident memory).")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = args.workdir or Path(tmp)
        steps: list[Step] = []
        for preset in args.presets:
            steps += bench_preset(preset, args, root)
        print_table(steps, args.presets)


if __name__ == "__main__":
    main()
