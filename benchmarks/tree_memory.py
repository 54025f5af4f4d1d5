"""The memory a step's whole process tree holds, sampled while it runs.

``wait4``'s maximum resident set size is that of the largest single process, so a step that
forks workers (``train --processes 2``, the per-district plans) would be reported at its
largest process only. The sum of the tree's proportional set sizes (PSS, Linux
``/proc/PID/smaps_rollup``) counts the pages the workers share with their parent once, split
between them, and so is the memory the step holds as a whole.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

#: seconds between two samples of the tree
INTERVAL = 0.5


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:  # gone meanwhile, or not Linux
        pass
    return found


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_pss_gib(pid: int) -> float:
    """The summed PSS of ``pid`` and every process under it now, in GiB (0 off Linux)."""
    todo, total = [pid], 0
    while todo:
        current = todo.pop()
        total += _pss_kib(current)
        todo += _children(current)
    return total / 1024**2


class TreeMemory:
    """Samples :func:`tree_pss_gib` of ``pid`` every :data:`INTERVAL` seconds in a thread from
    ``start()`` until ``stop()``, keeping the peak (``peak_gib``)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_gib = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak_gib = max(self.peak_gib, tree_pss_gib(self.pid))
            time.sleep(INTERVAL)

    def start(self) -> TreeMemory:
        self._thread.start()
        return self

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.peak_gib
