"""Settings every test shares: no network-facing telemetry, a headless plotting backend, and
MLflow pointed at nothing by default (tests that track pass their own temporary SQLite URI)."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
# Rich wraps console output at the terminal width; a fixed, wide width keeps CLI output (and the
# substrings tests look for) the same under xdist workers, CI and a developer's terminal.
os.environ["COLUMNS"] = "200"
os.environ.setdefault("TERM", "dumb")
