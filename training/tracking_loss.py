"""The tracking server lost in the middle of `train`: a clear message and exit 2, the run marked
FAILED, nothing half-registered.

While `train` runs, every MLflow run it starts and every model version it registers is written
to a small ledger file (per tracking URI) the moment it exists — before the next call that could
fail. When the train finishes, its entries are cleared. When it fails, the ledger is settled at
once if the server still answers, else on the next contact (the next `train`): each run is
marked FAILED and each version it registered is deleted, so the registry never holds a version
whose run did not complete (nor a champion alias on one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from data.errors import Problem, UserInputError
from training.settings import TrainingSettings

LEDGER_NAME = "tracking-pending.json"
#: Set inside :func:`tracked_train` only: fixtures and tools that log runs outside `train` leave
#: no ledger entries (which the next train would otherwise undo).
_TRAINING: ContextVar[bool] = ContextVar("bemanning_tracked_train", default=False)


class TrackingLost(UserInputError):
    """The tracking server stopped answering while `train` was writing to it."""


def ledger_path(settings: TrainingSettings) -> Path:
    return Path(settings.state_dir) / LEDGER_NAME


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(partial, path)  # atomic: a crash never leaves half a ledger


def _entry(data: dict[str, Any], uri: str) -> dict[str, list[Any]]:
    entry = data.setdefault(uri, {})
    entry.setdefault("runs", [])
    entry.setdefault("versions", [])
    return entry


def note_run(settings: TrainingSettings, run_id: str) -> None:
    """Record a run `train` has started (call right after ``start_run``)."""
    if not _TRAINING.get():
        return
    path = ledger_path(settings)
    data = _read(path)
    runs = _entry(data, settings.tracking_uri)["runs"]
    if run_id not in runs:
        runs.append(run_id)
    _write(path, data)


def note_version(settings: TrainingSettings, name: str, version: str) -> None:
    """Record a model version `train` has registered (call right after ``register_model``)."""
    if not _TRAINING.get():
        return
    path = ledger_path(settings)
    data = _read(path)
    versions = _entry(data, settings.tracking_uri)["versions"]
    if [name, version] not in versions:
        versions.append([name, version])
    _write(path, data)


def pending(settings: TrainingSettings) -> dict[str, list[Any]]:
    entry = _read(ledger_path(settings)).get(settings.tracking_uri) or {}
    return {"runs": list(entry.get("runs", [])), "versions": list(entry.get("versions", []))}


def forget(settings: TrainingSettings, runs: list[str], versions: list[list[str]]) -> None:
    path = ledger_path(settings)
    data = _read(path)
    entry = _entry(data, settings.tracking_uri)
    entry["runs"] = [r for r in entry["runs"] if r not in runs]
    entry["versions"] = [v for v in entry["versions"] if v not in versions]
    if not entry["runs"] and not entry["versions"]:
        data.pop(settings.tracking_uri, None)
    _write(path, data)


def settle_pending(settings: TrainingSettings) -> list[str]:
    """Finish what an earlier, failed `train` left: mark its runs FAILED and delete the versions
    it registered. Returns one line per thing done; raises whatever the tracking client raises
    when the server does not answer (the ledger is then kept for next time)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    todo = pending(settings)
    if not todo["runs"] and not todo["versions"]:
        return []
    client = MlflowClient(settings.tracking_uri)
    done: list[str] = []
    settled_versions: list[list[str]] = []
    for name, version in todo["versions"]:
        try:
            client.delete_model_version(name, version)
            done.append(f"removed {name} version {version}, registered by a train that failed")
        except MlflowException as exc:
            if "RESOURCE_DOES_NOT_EXIST" not in str(exc.error_code):
                raise
        settled_versions.append([name, version])
    settled_runs: list[str] = []
    for run_id in todo["runs"]:
        try:
            if client.get_run(run_id).info.status != "FAILED":
                client.set_terminated(run_id, status="FAILED")
                done.append(f"marked run {run_id} FAILED: the train that wrote it failed")
        except MlflowException as exc:
            if "RESOURCE_DOES_NOT_EXIST" not in str(exc.error_code):
                raise
        settled_runs.append(run_id)
    forget(settings, settled_runs, settled_versions)
    return done


def is_tracking_failure(exc: BaseException) -> bool:
    """An exception that means the tracking server (or its database) did not answer."""
    from mlflow.exceptions import MlflowException

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError):
            return True
        module = type(current).__module__
        if module.startswith(("requests", "urllib3", "http.client")):
            return True
        if module.startswith("sqlalchemy") and type(current).__name__ in (
            "OperationalError",
            "InterfaceError",
            "DisconnectionError",
        ):
            return True
        if isinstance(current, MlflowException) and (
            "API request" in str(current) or "Max retries" in str(current)
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def tracked_train(settings: TrainingSettings) -> Iterator[list[str]]:
    """Around a `train`: first settle what an earlier failed train left (the notes are yielded to
    print); afterwards clear this train's ledger entries on success, or settle them (now, or on
    the next contact) on failure — a lost server becomes :class:`TrackingLost` (exit 2)."""
    before = pending(settings)
    notes = settle_pending(settings) if before["runs"] or before["versions"] else []
    active = _TRAINING.set(True)
    try:
        yield notes
    except BaseException as exc:
        _TRAINING.reset(active)
        todo = pending(settings)
        try:
            settle_pending(settings)
            settled = True
        except Exception:  # the server is gone: the next contact settles it
            settled = False
        if isinstance(exc, Exception) and is_tracking_failure(exc):
            raise _lost(settings, exc, todo, settled) from None
        raise
    _TRAINING.reset(active)
    done = pending(settings)
    forget(settings, done["runs"], done["versions"])


def _lost(
    settings: TrainingSettings, exc: BaseException, todo: dict[str, list[Any]], settled: bool
) -> TrackingLost:
    why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    runs = ", ".join(todo["runs"]) or "none"
    if settled:
        aftermath = f"run(s) {runs} marked FAILED and nothing left registered"
    else:
        aftermath = (
            f"run(s) {runs} will be marked FAILED, and any version this train registered "
            "removed, the next time `bemanning train` reaches the server"
        )
    return TrackingLost(
        f"Lost the MLflow tracking server {settings.tracking_uri} during training "
        f"({type(exc).__name__}: {why}). Nothing was promoted; {aftermath}. Start the server "
        "(or fix MLFLOW_TRACKING_URI) and run `bemanning train` again.",
        [
            Problem(
                file="MLFLOW_TRACKING_URI",
                rule="tracking server must answer for the whole train",
                value=settings.tracking_uri,
            )
        ],
    )
