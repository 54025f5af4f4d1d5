"""The command-line process freezes its long-lived objects; a command run without it does not."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from serving.commands.common import freeze_long_lived

ROOT = Path(__file__).resolve().parents[2]


def test_a_command_run_without_main_freezes_nothing() -> None:
    before = gc.get_freeze_count()
    freeze_long_lived()
    assert gc.get_freeze_count() == before


def test_main_freezes_what_is_imported_and_what_the_command_made() -> None:
    script = (
        "import gc\n"
        "from serving.commands.common import freeze_long_lived, start_command_process\n"
        "start_command_process()\n"
        "first = gc.get_freeze_count()\n"
        "kept = [[i] for i in range(1000)]\n"
        "freeze_long_lived()\n"
        "print(first, gc.get_freeze_count() - first)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    first, added = (int(v) for v in out.stdout.split())
    assert first > 10_000  # the modules imported so far
    assert added >= 1000  # the lists made after
