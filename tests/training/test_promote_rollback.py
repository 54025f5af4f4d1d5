"""The tracking server lost inside ``promote()`` during `train`: whatever step it fails at, the
run is marked FAILED, the new version is gone, and the previous champion is still there and
still champion (never a registry without one, never the old champion deleted).

The failure is injected at each registry call ``promote()`` makes (and once just after it), with
the server back at once (settled on the spot) or only on the next `train` (settled then)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from data.errors import UserInputError
from training.registry import champion_version, promote
from training.settings import CHAMPION_ALIAS, TrainingSettings, load_settings
from training.tracking_loss import (
    TrackingLost,
    TrackingUnreachable,
    note_run,
    note_version,
    pending,
    tracked_train,
)

#: The registry calls promote() makes, in order (the check of the server first).
STEPS = (
    "check_tracking_server",
    "get_model_version",
    "get_model_version_by_alias",
    "set_registered_model_alias",
    "set_model_version_tag",  # promotion
    "set_model_version_tag",  # promoted_by
    "set_model_version_tag",  # promoted_at
    "set_model_version_tag",  # promotion_reason
    "set_model_version_tag",  # replaced_by on the old champion
)
#: Every registry call made by promote() or by the settling afterwards: all fail while down.
CLIENT_CALLS = sorted(
    set(STEPS) - {"check_tracking_server"}
    | {"delete_model_version", "delete_model_version_tag", "get_run", "set_terminated"}
)


class Outage:
    """Counts the registry calls; from call number ``at`` on, every call fails as a lost server
    does until :meth:`restore`; with ``brief`` only that one call fails."""

    def __init__(self, at: int, brief: bool) -> None:
        self.at, self.brief = at, brief
        self.calls: list[str] = []
        self.down = False
        self.armed = False
        self.failed_first: str = ""

    def hit(self, name: str) -> None:
        if not self.armed:
            return
        self.calls.append(name)
        if self.down or len(self.calls) - 1 == self.at:
            self.failed_first = self.failed_first or name
            self.down = not self.brief
            if name == "check_tracking_server":
                raise TrackingUnreachable("the MLflow tracking server is unreachable")
            raise ConnectionError("[Errno 111] Connection refused")

    def restore(self) -> None:
        self.down, self.armed = False, False


@pytest.fixture(scope="module")
def champion_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite registry whose model ``bemanning-needs`` has version 1 as champion (promoted
    outside any train), built once: each test works on its own copy."""
    import mlflow

    folder = tmp_path_factory.mktemp("champion-db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    settings = load_settings(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("promote-rollback")
    client = MlflowClient(uri)
    client.create_registered_model(settings.registered_model_name)
    with mlflow.start_run() as run:
        mlflow.log_param("a", 1)
    client.create_model_version(settings.registered_model_name, str(folder), run_id=run.info.run_id)
    promote("1", "first model", tracking_uri=uri)
    return folder / "mlflow.db"


@pytest.fixture
def registry(
    champion_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TrainingSettings]:
    import mlflow

    shutil.copy(champion_db, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("BEMANNING_STATE_DIR", str(tmp_path / "state"))
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("promote-rollback")
    yield load_settings(uri)


def _patch_outage(monkeypatch: pytest.MonkeyPatch, outage: Outage) -> None:
    import training.registry as registry

    real_check = registry.check_tracking_server

    def check(settings: Any) -> None:
        outage.hit("check_tracking_server")
        real_check(settings)

    monkeypatch.setattr(registry, "check_tracking_server", check)
    for name in CLIENT_CALLS:
        real = getattr(MlflowClient, name)

        def call(self: Any, *args: Any, _name: str = name, _real: Any = real, **kw: Any) -> Any:
            outage.hit(_name)
            return _real(self, *args, **kw)

        monkeypatch.setattr(MlflowClient, name, call)


def _train_then_promote(settings: TrainingSettings, tmp_path: Path, outage: Outage) -> str:
    """What `train` does around promote(): a run, a registered version 2, then the promotion
    (with the outage armed); returns the run id."""
    import mlflow

    client = MlflowClient(settings.tracking_uri)
    name = settings.registered_model_name
    run_id = ""
    lost_server = pytest.raises(TrackingLost, match="Lost the MLflow tracking server")
    with lost_server as lost, tracked_train(settings), mlflow.start_run() as run:
        run_id = run.info.run_id
        note_run(settings, run_id)
        mlflow.log_param("a", 2)
        version = client.create_model_version(name, str(tmp_path), run_id=run_id)
        note_version(settings, name, str(version.version))
        outage.armed = True
        promote(str(version.version), "better", forced=False, tracking_uri=settings.tracking_uri)
        outage.hit("after promote")  # a step after promote() in the same train
    assert isinstance(lost.value, UserInputError)  # the CLI's exit 2, no traceback
    return run_id


def _assert_rolled_back(settings: TrainingSettings, run_id: str) -> None:
    client = MlflowClient(settings.tracking_uri)
    name = settings.registered_model_name
    assert client.get_run(run_id).info.status == "FAILED"
    assert [str(v.version) for v in client.search_model_versions(f"name='{name}'")] == ["1"]
    assert champion_version(settings.tracking_uri) == "1"
    assert str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version) == "1"
    old = client.get_model_version(name, "1")
    assert "replaced_by" not in (old.tags or {})
    assert old.tags.get("promotion_reason") == "first model"
    assert pending(settings) == {"runs": [], "versions": [], "champions": []}


@pytest.mark.parametrize("at", range(len(STEPS) + 1), ids=[*STEPS, "after promote"])
def test_server_back_at_once_rolls_back_to_the_previous_champion(
    registry: TrainingSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    outage = Outage(at, brief=True)
    _patch_outage(monkeypatch, outage)
    run_id = _train_then_promote(registry, tmp_path, outage)
    outage.restore()
    assert outage.failed_first == [*STEPS, "after promote"][at]  # injected where meant
    _assert_rolled_back(registry, run_id)


@pytest.mark.parametrize("at", range(len(STEPS) + 1), ids=[*STEPS, "after promote"])
def test_server_back_on_the_next_train_rolls_back_then(
    registry: TrainingSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    outage = Outage(at, brief=False)
    _patch_outage(monkeypatch, outage)
    run_id = _train_then_promote(registry, tmp_path, outage)
    assert outage.failed_first == [*STEPS, "after promote"][at]
    assert pending(registry)["runs"] == [run_id]  # nothing could be settled yet
    outage.restore()
    with tracked_train(registry) as notes:  # the next contact
        assert any("FAILED" in note for note in notes)
    _assert_rolled_back(registry, run_id)


def test_a_first_model_lost_after_its_promotion_leaves_no_half_champion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No champion before the train: after the loss there is none again (not a deleted one)."""
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("BEMANNING_STATE_DIR", str(tmp_path / "state"))
    settings = load_settings(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("promote-rollback-first")
    client = MlflowClient(uri)
    client.create_registered_model(settings.registered_model_name)
    outage = Outage(len(STEPS), brief=True)  # after promote() finished
    _patch_outage(monkeypatch, outage)
    run_id = ""
    with pytest.raises(TrackingLost), tracked_train(settings), mlflow.start_run() as run:
        run_id = run.info.run_id
        note_run(settings, run_id)
        version = client.create_model_version(
            settings.registered_model_name, str(tmp_path), run_id=run_id
        )
        note_version(settings, settings.registered_model_name, str(version.version))
        outage.armed = True
        promote(str(version.version), "first", forced=False, tracking_uri=uri)
        outage.hit("after promote")
    outage.restore()
    assert client.get_run(run_id).info.status == "FAILED"
    assert client.search_model_versions(f"name='{settings.registered_model_name}'") == []
    assert champion_version(uri) is None
    assert pending(settings) == {"runs": [], "versions": [], "champions": []}
