"""HiGHS's copyright banner (printed by a process's first instance, straight to file
descriptor 1) stays out of stdout when the first instances are built in two threads at once,
as the planning service does (the plan beside its risk-neutral re-solve)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import threading
from models.allocation.highs_model import new_highs
start = threading.Barrier(4)
def build():
    start.wait()
    new_highs()
threads = [threading.Thread(target=build) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("built")
"""


def test_no_banner_when_the_first_instances_are_built_in_threads() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True
        )
        assert out.stdout.strip() == "built", out.stdout
