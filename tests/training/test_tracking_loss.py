"""The tracking server lost in the middle of `train`: exit 2 with a clear message and no
traceback, the run marked FAILED on the next contact, and nothing half-registered.

The slow test runs a real MLflow tracking server (its Flask app under werkzeug, in a child
process) behind a loopback TCP relay; cutting the relay while `train` logs its metrics is the
server going away mid-run."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from training.settings import TrainingSettings
from training.tracking_loss import (
    TrackingLost,
    note_run,
    note_version,
    pending,
    tracked_train,
)

SERVER = """
import os, sys
os.environ["_MLFLOW_SERVER_FILE_STORE"] = sys.argv[2]
os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = sys.argv[3]
os.environ["_MLFLOW_SERVER_SERVE_ARTIFACTS"] = "false"
from mlflow.server import app
from werkzeug.serving import run_simple
run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Relay:
    """A loopback TCP relay to ``target``; ``cut()`` drops every connection and refuses new ones
    (the server is gone), ``restore()`` listens again on the same port."""

    def __init__(self, target: int) -> None:
        self.target, self.port = target, _free_port()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def tracking_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = _free_port()
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(port),
            f"sqlite:///{tmp_path / 'server.db'}",
            str(tmp_path / "artifacts"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 240
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(
                    f"the MLflow server did not start: {(tmp_path / 'server.log').read_text()}"
                )
            time.sleep(0.5)
    relay = Relay(port)
    try:
        yield relay
    finally:
        relay.cut()
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_train_with_the_server_lost_mid_run_exits_2_and_the_run_is_failed_on_next_contact(
    tracking_server: Relay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import training.tracking as tracking
    from data.writers import write_district
    from serving.cli import app
    from simulate import simulate_district

    folder = tmp_path / "data"
    write_district(
        simulate_district(
            "district",
            seed=3,
            n_kindergartens=5,
            start=pd.Period("2021-01", "M"),
            end=pd.Period("2024-12", "M"),
        ).district,
        folder,
    )
    uri = f"http://127.0.0.1:{tracking_server.port}"
    real_log_metrics = tracking._log_metrics_in_batches

    def server_goes_away(*args, **kwargs):  # type: ignore[no-untyped-def]
        tracking_server.cut()
        return real_log_metrics(*args, **kwargs)

    monkeypatch.setattr(tracking, "_log_metrics_in_batches", server_goes_away)
    monkeypatch.setenv("BEMANNING_STATE_DIR", str(tmp_path / "state"))
    args = [
        "train",
        str(folder),
        "--origins",
        "1",
        "--span-months",
        "6",
        "--horizons",
        "2",
        "--target",
        "children_under3",
        "--lgbm",
        "n_estimators=10",
        "--lgbm",
        "n_jobs=1",
    ]
    result = CliRunner().invoke(app, args, env={"MLFLOW_TRACKING_URI": uri})
    output = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "Lost the MLflow tracking server" in output and "run `bemanning train` again" in output
    assert "Traceback" not in result.output and len(result.output.splitlines()) < 15

    settings = TrainingSettings(tracking_uri=uri, state_dir=tmp_path / "state")
    left = pending(settings)
    assert len(left["runs"]) == 1 and left["versions"] == []
    tracking_server.restore()
    client = MlflowClient(uri)
    assert client.get_run(left["runs"][0]).info.status == "RUNNING"  # the server never heard
    with tracked_train(settings) as notes:  # the next contact
        assert any("FAILED" in note for note in notes)
    assert client.get_run(left["runs"][0]).info.status == "FAILED"
    assert client.search_registered_models() == [] or all(
        not client.search_model_versions(f"name='{m.name}'")
        for m in client.search_registered_models()
    )
    assert pending(settings) == {"runs": [], "versions": [], "champions": []}


def test_a_version_registered_before_the_loss_is_removed_and_the_run_failed(
    tmp_path: Path,
) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = TrainingSettings(tracking_uri=uri, state_dir=tmp_path / "state")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("tracking-loss")  # not the experiment an earlier test left active
    client = MlflowClient(uri)
    lost_server = pytest.raises(TrackingLost, match="Lost the MLflow tracking server")
    with lost_server as lost, tracked_train(settings):
        with mlflow.start_run() as run:
            note_run(settings, run.info.run_id)
            mlflow.log_param("a", 1)
        client.create_registered_model("m")
        version = client.create_model_version("m", str(tmp_path), run_id=run.info.run_id)
        note_version(settings, "m", version.version)
        raise ConnectionError("[Errno 111] Connection refused")  # the server goes away
    assert "marked FAILED" in str(lost.value)
    assert client.get_run(run.info.run_id).info.status == "FAILED"
    assert client.search_model_versions("name='m'") == []
    assert pending(settings) == {"runs": [], "versions": [], "champions": []}


def test_a_train_that_succeeds_leaves_its_run_and_version_alone(tmp_path: Path) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = TrainingSettings(tracking_uri=uri, state_dir=tmp_path / "state")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("tracking-loss")  # not the experiment an earlier test left active
    client = MlflowClient(uri)
    with tracked_train(settings):
        with mlflow.start_run() as run:
            note_run(settings, run.info.run_id)
        client.create_registered_model("m")
        version = client.create_model_version("m", str(tmp_path), run_id=run.info.run_id)
        note_version(settings, "m", version.version)
    with tracked_train(settings) as notes:
        assert notes == []
    assert client.get_run(run.info.run_id).info.status == "FINISHED"
    assert len(client.search_model_versions("name='m'")) == 1
    note_run(settings, "outside-a-train")  # fixtures logging runs leave no ledger entries
    assert pending(settings) == {"runs": [], "versions": [], "champions": []}
