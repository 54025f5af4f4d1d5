"""Settings every test shares: no network-facing telemetry, a headless plotting backend, and
MLflow pointed at nothing by default (tests that track pass their own temporary SQLite URI)."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
