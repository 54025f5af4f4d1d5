"""Scale run: district, city and nation presets end to end, as a city or national user runs them.

Run as ``python -m benchmarks.bench_scale [--presets district city nation] [--seed 1]
[--origins 12] [--scenarios 200] [--workdir DIR]``. Per preset it simulates the data set
(SIMULATED, parquet), then runs each step as its own ``bemanning`` process, the way a user does,
and records the wall time and the peak memory of that process: ``wait4``'s maxrss, or where
it forks workers (``train --processes``, the per-district plans) the summed PSS of its process
tree sampled every 0.5 s when that is larger (``benchmarks.tree_memory``):

* ``train`` (``--origins`` rolling origins, logged and registered in a fresh MLflow store),
* ``load`` (the registered model loaded, nothing else: what every forecast, plan, report and
  app reload pays first; also timed inside the process, without Python's start and MLflow's
  import, as ``load (in process)``),
* ``forecast`` (every kindergarten, 12 months, with drivers),
* ``plan`` (every kindergarten as one problem, ``--scenarios`` scenarios, explained; only for
  the presets in ``--as-one-presets``, default district and city: a nation is 365
  municipalities and districts that no one plans as one pool),
* ``plan stages`` (with ``--plan-stages``, the presets planned as one): the same plan in one
  process, its CPU seconds per stage (imports, data, model load, forecast, plan, write),
* ``plan per district`` (the default: one plan per district in parallel processes, each
  explained, with the city summary — what a city or national user runs).

It prints one table with the growth ratio of each figure from one preset to the next, and the
goals of issue #21 beside them (nation train < 4 GiB and 5 min, city train < 1 GiB, nation load
< 3 s, city plan < 15 s, nation plan < 5 min). Times are printed, never asserted; on a busy
shared machine they are pessimistic, so each step's CPU seconds (user + system, ``wait4``) are
printed beside its wall time: on a quiet 2-core machine a one-process step takes about its CPU.

The steps run with compiled bytecode, as a pip-installed engine does: an environment with
``PYTHONDONTWRITEBYTECODE`` (as this project's sandbox sets) compiles every module of pandas,
scikit-learn, MLflow and SQLAlchemy from source in every process — about 10 s of CPU a
command, profiled on 2026-12-07. The children get a bytecode cache (``PYTHONPYCACHEPREFIX``,
``--pycache``, default a folder in the work directory) warmed by one import of the engine
before the first timed step; ``--source-only`` measures the uncached way.
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

from benchmarks.tree_memory import TreeMemory

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
model = load_model(sys.argv[1], sys.argv[2])
print(f"load seconds {time.perf_counter() - started:.2f}")
started = time.perf_counter()
model.pit_history
print(f"history seconds {time.perf_counter() - started:.2f}")
"""
#: ``plan --as-one`` in one process with its CPU seconds per stage (``--plan-stages``): what the
#: command does (serving.commands.planning), each stage timed with ``time.process_time``
PLAN_STAGES_SCRIPT = """
import sys, time
from pathlib import Path
from data.validate import read_district
from serving.commands.planning import write_plan
from serving.plan_from_model import forecast_and_plan
from serving.planning import PlanRequest
from training.registry import load_model
data, model_uri, tracking, scenarios, out, *pools = sys.argv[1:]
last = 0.0
def stage(name):
    global last
    now = time.process_time()
    print(f"stage {name}: {now - last:.2f}", flush=True)
    last = now
stage("start, imports")
district = read_district(data)
stage("read the data")
model = load_model(model_uri, tracking)
stage("load the model")
request = PlanRequest(
    pools={p.split("=")[0]: float(p.split("=")[1]) for p in pools}, n_scenarios=int(scenarios)
)
original = model.pipeline.predict
def predict(*args, **kwargs):
    forecasts = original(*args, **kwargs)
    stage("forecast")
    return forecasts
model.pipeline.predict = predict
_, result = forecast_and_plan(district, model, request)
stage("plan: history, scenarios, MILPs, comparisons, lines")
write_plan(result, Path(out))
stage("write")
"""
#: what a plan or forecast imports, done once so the timed steps find compiled bytecode
WARM_SCRIPT = (
    "import serving.cli, serving.planning, serving.district_plans, training.retrain, "
    "training.registry, training.plots, models.allocation.comparison, models.allocation.report, "
    "mlflow.store.tracking.sqlalchemy_store, mlflow.store.model_registry.sqlalchemy_store, "
    "highspy"
)


@dataclass
class Step:
    preset: str
    step: str
    seconds: float
    peak_gib: float
    ok: bool
    cpu_seconds: float = float("nan")


@dataclass
class Measured:
    """One child process: wall and CPU seconds, peak RSS, exit code, its last output lines."""

    seconds: float
    cpu_seconds: float
    peak_gib: float
    code: int
    tail: str


def run_measured(args: list[str], env: dict[str, str], tail_lines: int = 3) -> Measured:
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        tree = TreeMemory(child.pid).start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        tree_gib = tree.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        tail = log.read().decode("utf-8", "replace").strip().splitlines()[-tail_lines:]
    return Measured(
        seconds,
        usage.ru_utime + usage.ru_stime,
        # the largest process's maximum RSS, or the tree's summed PSS when workers add to it
        max(usage.ru_maxrss / 1024**2, tree_gib),
        child.returncode,
        "\n".join(tail),
    )


def child_environment(args: argparse.Namespace, root: Path) -> dict[str, str]:
    """The steps' environment: the engine on the path and, unless ``--source-only``, a
    bytecode cache warmed once (see module doc)."""
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    if args.source_only:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(args.pycache or root / "pycache")
    warm = run_measured([sys.executable, "-c", WARM_SCRIPT], env)
    print(f"bytecode cache {env['PYTHONPYCACHEPREFIX']} warmed in {warm.seconds:.1f} s", flush=True)
    return env


def bench_preset(
    preset: str, args: argparse.Namespace, root: Path, base_env: dict[str, str]
) -> list[Step]:
    folder = root / preset
    data = folder / "data"
    tracking = f"sqlite:///{folder / 'mlflow.db'}"
    env = {**base_env, "MLFLOW_TRACKING_URI": tracking}
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
        "plan stages": [
            sys.executable,
            "-c",
            PLAN_STAGES_SCRIPT,
            str(data),
            model,
            tracking,
            str(args.scenarios),
            str(folder / "plan_stages.csv"),
            *POOLS,
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
    if preset not in args.as_one_presets or not args.plan_stages:
        del steps["plan stages"]
    out: list[Step] = []
    for name, command in steps.items():
        run = run_measured(command, env, tail_lines=20 if name == "plan stages" else 3)
        print(
            f"{preset:>8} {name:<18} {run.seconds:8.1f} s wall {run.cpu_seconds:7.1f} s CPU "
            f"{run.peak_gib:6.2f} GiB  exit {run.code}  load {os.getloadavg()[0]:.1f} "
            f"at {time.strftime('%H:%M:%S', time.gmtime())} UTC",
            flush=True,
        )
        ok = run.code == 0
        out.append(Step(preset, name, run.seconds, run.peak_gib, ok, run.cpu_seconds))
        if not ok:
            print(run.tail, flush=True)
            break
        if name == "load":
            # the model load alone, without starting Python and importing MLflow; then what a
            # plan reads on top of it (the backtest predictions, read on first use)
            for label, key in (("load (in process)", "load"), ("history read", "history")):
                inner = float(run.tail.rsplit(f"{key} seconds", 1)[-1].split()[0])
                print(f"{preset:>8} {label:<18} {inner:8.1f} s", flush=True)
                out.append(Step(preset, label, inner, run.peak_gib, True))
        if name == "plan stages":  # CPU seconds per stage, printed as the rows' times
            for line in run.tail.splitlines():
                if line.startswith("stage "):
                    label, cpu = line.removeprefix("stage ").rsplit(": ", 1)
                    print(f"{preset:>8}   {label:<52} {float(cpu):6.2f} s CPU", flush=True)
    return out


def print_table(steps: list[Step], presets: list[str]) -> None:
    names = list(dict.fromkeys(s.step for s in steps))
    at = {(s.preset, s.step): s for s in steps}
    header = f"{'step':<18}" + "".join(f"{p:>32}" for p in presets) + "  growth" + "  goal"
    print()
    print(header)
    for name in names:
        cells, growth, goals = [], [], []
        previous = None
        for preset in presets:
            s = at.get((preset, name))
            if s is None:
                cells.append(f"{'not run':>32}")
                previous = None
                continue
            cpu = f"({s.cpu_seconds:.0f} s CPU)" if s.cpu_seconds == s.cpu_seconds else ""
            cells.append(f"{s.seconds:>10.1f} s {cpu:>12} {s.peak_gib:>5.2f} GiB")
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
    parser.add_argument(
        "--plan-stages",
        action="store_true",
        help="also run plan --as-one in one process and print its CPU seconds per stage",
    )
    parser.add_argument("--pycache", type=Path, default=None, help="bytecode cache folder")
    parser.add_argument(
        "--source-only", action="store_true", help="no bytecode cache: compile every import"
    )
    args = parser.parse_args()
    print("SIMULATED data; every step its own process (wall time, CPU, peak resident memory).")
    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = args.workdir or Path(tmp)
        env = child_environment(args, root)
        steps: list[Step] = []
        for preset in args.presets:
            steps += bench_preset(preset, args, root, env)
        print_table(steps, args.presets)
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
