"""The tracking server lost in the middle of `train`: a clear message and exit 2, the run marked
FAILED, nothing half-registered.

While `train` runs, every MLflow run it starts and every model version it registers is written
to a small ledger file (per tracking URI) the moment it exists — before the next call that could
fail. When the train finishes, its entries are cleared. When it fails, the ledger is settled at
once if the server still answers, else on the next contact (the next `train`): each run is
marked FAILED and each version it registered is deleted, so the registry never holds a version
whose run did not complete (nor a champion alias on one).

A train that moves the champion alias notes first which version held it (``note_champion``).
Settling puts the alias back on that version before deleting anything, and removes the
``replaced_by`` tag the promotion gave it: a train lost after its promotion began leaves the
previous champion as it was, champion included — never a registry without one.
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


class TrackingUnreachable(UserInputError):
    """The tracking server did not answer the reachability check (before or during a train)."""


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
    entry.setdefault("champions", [])
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


def note_champion(settings: TrainingSettings, name: str, previous: str | None) -> None:
    """Record which version held the champion alias before `train` moves it (call right before
    ``set_registered_model_alias``); ``None`` when there was no champion."""
    if not _TRAINING.get():
        return
    path = ledger_path(settings)
    data = _read(path)
    champions = _entry(data, settings.tracking_uri)["champions"]
    if not any(c[0] == name for c in champions):  # the first one is the one to restore
        champions.append([name, previous])
    _write(path, data)


def pending(settings: TrainingSettings) -> dict[str, list[Any]]:
    entry = _read(ledger_path(settings)).get(settings.tracking_uri) or {}
    return {
        "runs": list(entry.get("runs", [])),
        "versions": list(entry.get("versions", [])),
        "champions": list(entry.get("champions", [])),
    }


def forget(
    settings: TrainingSettings,
    runs: list[str],
    versions: list[list[str]],
    champions: list[list[Any]] | None = None,
) -> None:
    path = ledger_path(settings)
    data = _read(path)
    entry = _entry(data, settings.tracking_uri)
    entry["runs"] = [r for r in entry["runs"] if r not in runs]
    entry["versions"] = [v for v in entry["versions"] if v not in versions]
    entry["champions"] = [c for c in entry["champions"] if c not in (champions or [])]
    if not entry["runs"] and not entry["versions"] and not entry["champions"]:
        data.pop(settings.tracking_uri, None)
    _write(path, data)


def _restore_champion(
    client: Any, name: str, previous: str | None, registered: set[str], done: list[str]
) -> None:
    """Put the champion alias back on ``previous`` when it rests on a version this train
    registered (which is about to be deleted), and take back the ``replaced_by`` tag."""
    from mlflow.exceptions import MlflowException

    from training.settings import CHAMPION_ALIAS

    try:
        holder: str | None = str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" not in str(exc.error_code) and (
            "INVALID_PARAMETER" not in str(exc.error_code)
        ):
            raise
        holder = None
    if previous is None:
        return  # there was no champion before this train: deleting its version is the undo
    try:
        tags = client.get_model_version(name, previous).tags or {}
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" not in str(exc.error_code):
            raise
        return  # someone deleted the old champion meanwhile: nothing to put back
    if holder in registered or holder is None:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, previous)
        done.append(f"champion alias of {name} back on version {previous}")
    if tags.get("replaced_by") in registered:
        client.delete_model_version_tag(name, previous, "replaced_by")


def settle_pending(settings: TrainingSettings) -> list[str]:
    """Finish what an earlier, failed `train` left: mark its runs FAILED and delete the versions
    it registered. Returns one line per thing done; raises whatever the tracking client raises
    when the server does not answer (the ledger is then kept for next time)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    todo = pending(settings)
    if not todo["runs"] and not todo["versions"] and not todo["champions"]:
        return []
    client = MlflowClient(settings.tracking_uri)
    done: list[str] = []
    # first the alias, then the deletions: deleting the version that holds the alias would take
    # the alias with it, and a loss between the two would leave no champion at all
    for name, previous in todo["champions"]:
        registered = {str(v) for n, v in todo["versions"] if n == name}
        _restore_champion(client, name, previous, registered, done)
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
    forget(settings, settled_runs, settled_versions, todo["champions"])
    return done


def is_tracking_failure(exc: BaseException) -> bool:
    """An exception that means the tracking server (or its database) did not answer."""
    from mlflow.exceptions import MlflowException

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError | TrackingUnreachable):
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
    notes = settle_pending(settings) if any(before.values()) else []
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
    forget(settings, done["runs"], done["versions"], done["champions"])


def _lost(
    settings: TrainingSettings, exc: BaseException, todo: dict[str, list[Any]], settled: bool
) -> TrackingLost:
    why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    runs = ", ".join(todo["runs"]) or "none"
    kept = [f"version {c[1]} of {c[0]}" for c in todo.get("champions", []) if c[1] is not None]
    champion = f" (the champion stays {', '.join(kept)})" if kept else ""
    if settled:
        aftermath = f"run(s) {runs} marked FAILED and nothing left registered{champion}"
    else:
        aftermath = (
            f"run(s) {runs} will be marked FAILED, and any version this train registered "
            "removed and the champion alias put back where it was, the next time "
            "`bemanning train` reaches the server"
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
