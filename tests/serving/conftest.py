"""Fixtures for the app, store and browser tests: a small simulated city (two kindergartens in
each of Oslo's districts, fixed seed), the app on a throwaway SQLite store, users of every role,
real plans built by the planning service, and a throwaway PostgreSQL cluster."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from glob import glob
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.contract import District

DISTRICT_A = "Bydel Gamle Oslo"
DISTRICT_B = "Bydel Grünerløkka"
PASSWORD = "correct horse battery staple"
USERS = {  # name: (role, district)
    "admin": ("admin", None),
    "anna": ("planner", DISTRICT_A),
    "alf": ("planner", DISTRICT_A),
    "bo": ("planner", DISTRICT_B),
    "vera": ("viewer", DISTRICT_A),
}


@pytest.fixture(scope="session")
def sim_district() -> District:
    """SIMULATED: 24 kindergartens over Oslo's districts, 2021-01 … 2026-10, seed 3."""
    from features.simulate import simulate_district

    return simulate_district("city", seed=3, n_kindergartens=24,
                             start=pd.Period("2021-01", "M")).district


@pytest.fixture(scope="session")
def sim_data_path(sim_district: District, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated city written as the CSV data folder the app reads."""
    from features.simulate import simulate_district, write_simulation

    folder = tmp_path_factory.mktemp("data") / "city"
    sim = simulate_district("city", seed=3, n_kindergartens=24, start=pd.Period("2021-01", "M"))
    write_simulation(sim, folder, "csv")
    return folder


@pytest.fixture(scope="session")
def baseline_forecasts(sim_district: District) -> pd.DataFrame:
    """Forecasts in the contract's format from the seasonal-naive baseline (fast and real)."""
    from models.forecast.baselines import SeasonalNaive

    return SeasonalNaive().fit(sim_district).predict(sim_district, horizon=12)


def app_settings(database_url: str, data_path: Path | None, tracking_uri: str):  # type: ignore[no-untyped-def]
    from serving.app.settings import Settings

    return Settings(database_url=database_url, data_path=data_path, tracking_uri=tracking_uri,
                    secret_key=secrets.token_urlsafe(32), dev=False, plan_scenarios=40,
                    plan_time_limit_s=10)


@dataclass
class AppHarness:
    app: object
    client_for: Callable[[str | None], TestClient]

    @property
    def sessions(self):  # type: ignore[no-untyped-def]
        return self.app.state.sessions  # type: ignore[attr-defined]


def add_users(sessions) -> None:  # type: ignore[no-untyped-def]
    from serving.auth import hash_password
    from serving.store import repository

    hashed = hash_password(PASSWORD)
    with sessions.begin() as session:
        for name, (role, district) in USERS.items():
            repository.create_user(session, name=name, password_hash=hashed, role=role,
                                   district=district)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    response = client.post("/api/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token


@pytest.fixture
def harness(tmp_path: Path, sim_data_path: Path) -> Iterator[AppHarness]:
    """The app on a fresh SQLite store, the simulated data, and an empty MLflow (no model)."""
    from serving.app.main import create_app

    settings = app_settings(f"sqlite:///{tmp_path / 'app.db'}", sim_data_path,
                            f"sqlite:///{tmp_path / 'mlflow.db'}")
    app = create_app(settings)
    add_users(app.state.sessions)
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
    app.state.db_engine.dispose()


def store_real_plan(harness_or_sessions, district: District, forecasts: pd.DataFrame,  # type: ignore[no-untyped-def]
                    district_name: str = DISTRICT_A, created_by: str = "anna") -> str:
    """A plan built by the planning service on the baseline forecasts, stored as the app stores
    it; returns its id."""
    from serving.app.engine import district_subset
    from serving.app.services import store_result
    from serving.planning import PlanRequest, build_plan
    from serving.store import repository

    sessions = getattr(harness_or_sessions, "sessions", harness_or_sessions)
    data = district_subset(district, district_name)
    ids = set(data.kindergartens["kindergarten_id"])
    params = {"pools": {"staff": 2.0, "pedagogue": 1.0, "resource_pedagogue": 1.0},
              "months": 12, "risk": 0.9}
    result = build_plan(data, forecasts[forecasts["kindergarten_id"].isin(ids)],
                        PlanRequest(pools=params["pools"], n_scenarios=40, time_limit_s=10),
                        model_version="baseline-test")
    with sessions.begin() as session:
        user = repository.user_by_name(session, created_by)
        plan = store_result(session, result, data, district_name=district_name, params=params,
                            user=user, parent=None)
        return plan.id


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

    run(str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "bemanning", "-A", "scram-sha-256",
        f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync")
    run(str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", str(root / "log"), "-w", "-o",
        f"-h 127.0.0.1 -p {port} -k {socket_dir} -c fsync=off", "start")
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="bemanning", password=password,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE bemanning_test")
        yield f"postgresql+psycopg://bemanning:{password}@127.0.0.1:{port}/bemanning_test"
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast",
                        "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
