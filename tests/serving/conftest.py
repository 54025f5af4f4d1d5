"""Fixtures for the app, store and browser tests: a small simulated city (two kindergartens in
each of Oslo's districts, fixed seed), the app on a throwaway SQLite store, users of every role,
real plans built by the planning service, and a throwaway PostgreSQL cluster."""

from __future__ import annotations

import gc
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from glob import glob
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from app_fixtures import AppHarness, add_users, app_settings, login, train_tiny_champion
from fastapi.testclient import TestClient

from data.contract import District


@pytest.fixture(scope="session")
def simulation() -> Any:
    """SIMULATED: 24 kindergartens over Oslo's districts, 2021-01 … 2026-10, seed 3."""
    from simulate import simulate_district

    return simulate_district("city", seed=3, n_kindergartens=24, start=pd.Period("2021-01", "M"))


@pytest.fixture(scope="session")
def sim_district(simulation: Any) -> District:
    return simulation.district


@pytest.fixture(scope="session")
def sim_data_path(simulation: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated city written as the CSV data folder the app reads."""
    from simulate import write_simulation

    folder = tmp_path_factory.mktemp("data") / "city"
    write_simulation(simulation, folder, "csv")
    return folder


@pytest.fixture(scope="session")
def baseline_forecasts(sim_district: District) -> pd.DataFrame:
    """Forecasts in the contract's format from the seasonal-naive baseline (fast and real)."""
    from models.forecast.baselines import SeasonalNaive

    return SeasonalNaive().fit(sim_district).predict(sim_district, horizon=12)


@pytest.fixture(scope="session")
def empty_tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An MLflow store with no model registered (shared: MLflow builds its schema once)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow-empty') / 'mlflow.db'}"


@pytest.fixture
def harness(tmp_path: Path, sim_data_path: Path, empty_tracking_uri: str) -> Iterator[AppHarness]:
    """The app on a fresh SQLite store, the simulated data, and an empty MLflow (no model)."""
    yield from _harness(tmp_path, sim_data_path, empty_tracking_uri)


def _harness(
    tmp_path: Path,
    data_path: Path,
    tracking_uri: str,
    *,
    plan_workers: int = 0,
    warm: bool = False,
) -> Iterator[AppHarness]:
    from serving.app.main import create_app
    from serving.app.main import warm as warm_app

    settings = app_settings(
        f"sqlite:///{tmp_path / 'app.db'}", data_path, tracking_uri, plan_workers=plan_workers
    )
    app = create_app(settings)
    add_users(app.state.sessions)
    if warm:
        warm_app(app)  # what `serve` does at start
    clients: list[TestClient] = []

    def client_for(name: str | None) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        if name is not None:
            login(client, name)
        return client

    yield AppHarness(app, client_for)
    for client in clients:
        client.close()
    app.state.engine_state.close()
    app.state.db_engine.dispose()
    if warm:
        gc.unfreeze()  # the warm-up froze what it loaded, as in `serve`: let this app's go


@pytest.fixture(scope="session")
def champion_uri(sim_district: District, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An MLflow store whose registry holds a small champion trained on the simulated city."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    train_tiny_champion(sim_district, uri)
    return uri


@pytest.fixture
def trained_harness(tmp_path: Path, sim_data_path: Path, champion_uri: str) -> Iterator[AppHarness]:
    """Like ``harness``, with the champion model in place."""
    yield from _harness(tmp_path, sim_data_path, champion_uri)


@pytest.fixture
def warmed_harness(tmp_path: Path, sim_data_path: Path, champion_uri: str) -> Iterator[AppHarness]:
    """The champion in place, warmed as `serve` warms the app, on its own copy of the data (a
    test may change it)."""
    data = tmp_path / "data"
    shutil.copytree(sim_data_path, data)
    yield from _harness(tmp_path, data, champion_uri, warm=True)


@pytest.fixture
def served_harness(tmp_path: Path, sim_data_path: Path, champion_uri: str) -> Iterator[AppHarness]:
    """The champion in place and plans solved in a solver process, as `bemanning serve` runs."""
    yield from _harness(tmp_path, sim_data_path, champion_uri, plan_workers=1)


# --- PostgreSQL ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster from Debian's packages on a free loopback port, run as the
    ``postgres`` OS user (initdb refuses root); removed afterwards."""
    binaries = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql; .ci/run does)")
    bin_dir = Path(binaries[-1]).parent
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="bemanning-pg-"))
    data_dir, socket_dir = root / "data", root / "sock"
    socket_dir.mkdir()
    if as_postgres:
        shutil.chown(root, "postgres")
        shutil.chown(socket_dir, "postgres")
    port = _free_port()
    password = secrets.token_hex(12)
    pwfile = root / "pw"
    pwfile.write_text(password)
    if as_postgres:
        shutil.chown(pwfile, "postgres")

    def run(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, timeout=120)

    run(
        str(bin_dir / "initdb"),
        "-D",
        str(data_dir),
        "-U",
        "bemanning",
        "-A",
        "scram-sha-256",
        f"--pwfile={pwfile}",
        "-E",
        "UTF8",
        "--no-sync",
    )
    run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data_dir),
        "-l",
        str(root / "log"),
        "-w",
        "-o",
        f"-h 127.0.0.1 -p {port} -k {socket_dir} -c fsync=off",
        "start",
    )
    try:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="bemanning",
            password=password,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute("CREATE DATABASE bemanning_test")
        yield f"postgresql+psycopg://bemanning:{password}@127.0.0.1:{port}/bemanning_test"
    finally:
        subprocess.run(
            [
                *as_postgres,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data_dir),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(root, ignore_errors=True)


# --- the store on both databases --------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A migrated store on SQLite, and (marked ``postgres``) on the throwaway PostgreSQL."""
    from serving.store.db import downgrade, make_engine, upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    eng = make_engine(url)
    if request.param == "postgresql":
        downgrade(eng)  # the session-wide database starts empty for each test
    upgrade(eng)
    yield eng
    if request.param == "postgresql":
        downgrade(eng)
    eng.dispose()
