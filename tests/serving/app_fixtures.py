"""Helpers for the app tests (the fixtures using them live in conftest.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient

from data.contract import District

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


def app_settings(
    database_url: str, data_path: Path | None, tracking_uri: str, *, plan_workers: int = 0
) -> Any:
    """Test settings: no background warm-up, kindergarten pages prepared in the request thread,
    and plans solved in the request thread unless ``plan_workers`` asks for solver processes
    (as in production)."""
    from serving.app.settings import Settings

    return Settings(
        database_url=database_url,
        data_path=data_path,
        tracking_uri=tracking_uri,
        secret_key=secrets.token_urlsafe(32),
        dev=False,
        secure_cookies=False,  # the test client speaks plain HTTP
        plan_scenarios=40,
        plan_time_limit_s=10,
        warm_cache=False,
        page_workers=0,
        plan_workers=plan_workers,
    )


@dataclass
class AppHarness:
    app: Any
    client_for: Callable[[str | None], TestClient]

    @property
    def sessions(self) -> Any:
        return self.app.state.sessions


def add_users(sessions: Any) -> None:
    from serving.auth import hash_password
    from serving.store import repository

    hashed = hash_password(PASSWORD)
    with sessions.begin() as session:
        for name, (role, district) in USERS.items():
            repository.create_user(
                session, name=name, password_hash=hashed, role=role, district=district
            )


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    response = client.post("/api/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token


def engine_forecasts(harness: Any) -> pd.DataFrame:
    """The app engine's forecasts with month and origin as monthly periods (as plans take them)."""
    forecasts = harness.app.state.engine_state.forecasts()
    return forecasts.assign(
        month=pd.PeriodIndex(forecasts["month"], freq="M"),
        origin=pd.PeriodIndex(forecasts["origin"], freq="M"),
    )


def store_real_plan(
    harness_or_sessions: Any,
    district: District,
    forecasts: pd.DataFrame,
    district_name: str = DISTRICT_A,
    created_by: str = "anna",
) -> str:
    """A plan built by the planning service on the given forecasts, stored as the app stores it;
    returns its id."""
    from serving.app.engine import district_subset
    from serving.app.plan_services import store_result
    from serving.planning import PlanRequest, build_plan
    from serving.store import repository

    sessions = getattr(harness_or_sessions, "sessions", harness_or_sessions)
    data = district_subset(district, district_name)
    ids = set(data.kindergartens["kindergarten_id"])
    params = {
        "pools": {"staff": 2.0, "pedagogue": 1.0, "resource_pedagogue": 1.0},
        "months": 12,
        "risk": 0.9,
    }
    result = build_plan(
        data,
        forecasts[forecasts["kindergarten_id"].isin(ids)],
        PlanRequest(pools=params["pools"], n_scenarios=40, time_limit_s=10),
        model_version="baseline-test",
    )
    with sessions.begin() as session:
        user = repository.user_by_name(session, created_by)
        plan = store_result(
            session,
            result,
            data,
            district_name=district_name,
            params=params,
            user=user,
            parent=None,
        )
        return plan.id


def approve_first_line_and_plan(client: TestClient, plan_id: str) -> None:
    """The client's planner approves the plan's first line, then the whole plan (the API)."""
    line = client.get(f"/api/plans/{plan_id}").json()["lines"][0]
    approved = client.post(
        f"/api/plans/{plan_id}/lines/{line['id']}/approve",
        json={"row_version": line["row_version"]},
    )
    assert approved.status_code == 200, approved.text
    revision = client.get(f"/api/plans/{plan_id}").json()["revision"]
    done = client.post(f"/api/plans/{plan_id}/approve", json={"revision": revision})
    assert done.status_code == 200, done.text


def store_rows(harness: AppHarness) -> dict[str, list[tuple[Any, ...]]]:
    """What planners did, as stored: plans, lines, approvals and the audit trail."""
    from serving.store.tables import Approval, AuditEvent, Plan, PlanLine

    with harness.sessions() as session:
        return {
            "plans": [
                (p.id, p.status, p.revision, p.approved_by) for p in session.query(Plan).all()
            ],
            "lines": [
                (line.id, line.suggested_fte, line.approved, line.approved_by, line.row_version)
                for line in session.query(PlanLine).all()
            ],
            "approvals": [(a.id, a.plan_id, a.line_id) for a in session.query(Approval).all()],
            "audit": [(e.id, e.action, e.entity_id) for e in session.query(AuditEvent).all()],
        }


def train_tiny_champion(district: District, tracking_uri: str) -> str:
    """Fit a small forecast pipeline, log it to MLflow, register it and make it champion, the
    way `bemanning train` does, only smaller; returns the version."""
    from training.retrain import fit_and_promote_untested

    return fit_and_promote_untested(
        district,
        tracking_uri=tracking_uri,
        pipeline_params={
            "lgbm_params": {"n_estimators": 15, "num_leaves": 7},
            "calibration_origins": 1,
            "max_rows_per_model": 3000,
        },
        purpose="test fixture",
    )
