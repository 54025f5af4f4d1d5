"""Solves in a supervised process: a solver killed mid-solve (kill -9) gives that request a clear
503 and is replaced, so the next solve works; progress is visible at /api/solves while a solve
runs; and a real `bemanning serve` stopped with SIGTERM or SIGKILL leaves no child process (no
solver, no resource tracker) behind."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import psutil
import pytest
from app_fixtures import DISTRICT_A, PASSWORD, AppHarness

pytestmark = pytest.mark.slow
BODY = {"pools": {"staff": 3, "pedagogue": 1, "resource_pedagogue": 1}}


def _wait_for(condition: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_solver_gives_503_and_the_next_solve_works(served_harness: AppHarness) -> None:
    anna = served_harness.client_for("anna")
    state = served_harness.app.state.engine_state
    answer: dict[str, Any] = {}
    solving = threading.Thread(
        target=lambda: answer.setdefault("r", anna.post("/api/plans", json=BODY))
    )
    solving.start()
    _wait_for(state.solves_running, 120, "the solve to start")
    progress = served_harness.client_for("bo").get("/api/solves").json()["running"]
    assert progress and progress[0]["time_limit_s"] > 0 and progress[0]["elapsed_s"] >= 0
    pids = _wait_for(state.solver_pids, 120, "the solver process")
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    solving.join(timeout=120)
    crashed = answer["r"]
    assert crashed.status_code == 503, crashed.text
    assert "restarted" in crashed.json()["detail"] and "solve the plan again" in crashed.text
    assert crashed.headers.get("retry-after")
    assert state.solves_running() == []
    again = anna.post("/api/plans", json=BODY)
    assert again.status_code == 201, again.text
    assert set(state.solver_pids()).isdisjoint(pids)
    page = anna.get(f"/plans/{again.json()['id']}")
    assert page.status_code == 200


def _serve(tmp_path: Path, data: Path, tracking_uri: str) -> tuple[subprocess.Popen[bytes], str]:
    from serving.auth import hash_password
    from serving.store import repository
    from serving.store.db import make_engine, session_factory, upgrade

    database = f"sqlite:///{tmp_path / 'serve.db'}"
    engine = make_engine(database)
    upgrade(engine)
    with session_factory(engine).begin() as session:
        if repository.user_by_name(session, "anna") is None:
            repository.create_user(
                session,
                name="anna",
                password_hash=hash_password(PASSWORD),
                role="planner",
                district=DISTRICT_A,
            )
    engine.dispose()
    from serving.app.server import free_port

    port = free_port()
    env = {
        **os.environ,
        "BEMANNING_SECRET_KEY": secrets.token_urlsafe(32),
        "BEMANNING_SECURE_COOKIES": "false",
        "BEMANNING_WARM_CACHE": "false",
        "BEMANNING_PLAN_SCENARIOS": "40",
        "BEMANNING_PLAN_TIME_LIMIT_S": "10",
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from serving.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--data",
            str(data),
            "--database",
            database,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("ab"),
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return True
        except OSError:
            if process.poll() is not None:
                raise AssertionError((tmp_path / "serve.log").read_text()) from None
            return False

    _wait_for(up, 240, "serve to answer")
    return process, url


def _solve_once(url: str) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def post(path: str, body: dict[str, Any], token: str = "") -> dict[str, Any]:
        request = urllib.request.Request(
            url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-CSRF-Token": token},
            method="POST",
        )
        with opener.open(request, timeout=300) as response:
            return json.loads(response.read())

    token = post("/api/login", {"name": "anna", "password": PASSWORD})["csrf_token"]
    assert post("/api/plans", BODY, token)["id"]


def _gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_serve_stopped_leaves_no_solver_or_tracker_behind(
    stop: signal.Signals, tmp_path: Path, sim_data_path: Path, champion_uri: str
) -> None:
    process, url = _serve(tmp_path, sim_data_path, champion_uri)
    try:
        _solve_once(url)
        children = [p.pid for p in psutil.Process(process.pid).children(recursive=True)]
        assert children, "the solve ran in a child process"
        process.send_signal(stop)
        process.wait(timeout=60)
        _wait_for(lambda: _gone(children), 30, f"children {children} to end after {stop.name}")
    finally:
        if process.poll() is None:
            process.kill()
