"""The plan store on SQLite and PostgreSQL: migrations, optimistic line versions, immutability of
approved plans, append-only audit log, cache."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from serving.store import line_edits, repository, workflow
from serving.store.db import current_revision, downgrade, session_factory, upgrade
from serving.store.tables import Base

LINES = [
    {
        "kindergarten_id": f"K{i}",
        "period": "2026-11–2027-10",
        "resource": resource,
        "current_fte": 10.0,
        "suggested_fte": 11.0,
        "change_fte": 1.0,
        "required_fte_p50": 10.5,
        "required_fte_p90": 12.0,
        "shortfall_risk": 0.1,
        "reason": "pool exhausted",
        "explanation": {"binding_constraint": "pool"},
    }
    for i in range(3)
    for resource in ("staff", "pedagogue")
]


def _plan(engine: Engine) -> str:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        plan = repository.save_plan(
            session,
            district="Bydel Gamle Oslo",
            lines=LINES,
            header={
                "period": "2026-11–2027-10",
                "pools_fte": {"staff": 3.0, "pedagogue": 3.0},
                "request": {"pools": {"staff": 3, "pedagogue": 3}},
            },
            summary=[],
            created_by="anna",
            data_fingerprint="abc",
            model_version="7",
            simulated=True,
        )
        return plan.id


def _head(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    from serving.store.db import alembic_config

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def test_migrations_create_every_table_and_downgrade_removes_them(engine: Engine) -> None:
    assert current_revision(engine) == _head(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspect(engine).get_columns(name)}
        assert columns == set(table.columns.keys()), name
    downgrade(engine)
    assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert current_revision(engine) == _head(engine)


def test_second_change_of_the_same_line_version_is_a_conflict(engine: Engine) -> None:
    plan_id = _plan(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        plan = repository.get_plan(session, plan_id)
        line_id = plan.lines[0].id
    with sessions.begin() as session:  # anna saves first
        plan = repository.get_plan(session, plan_id)
        _, line = line_edits.pin_line(
            session,
            plan,
            line_id,
            kind="fix",
            value_fte=2.0,
            comment="new group opens",
            expected_version=1,
            user_name="anna",
        )
        # the solved figure stays; the pin is its own record and rules the planned figure
        assert line.row_version == 2 and line.suggested_fte == 11.0
        assert line_edits.planned_fte(plan, line) == 12.0
    with (
        pytest.raises(
            repository.ConflictError,
            match=r"changed by anna .*version 1.*now "
            r"version 2.*Reload",
        ),
        sessions.begin() as session,
    ):  # alf saw version 1 too
        plan = repository.get_plan(session, plan_id)
        line_edits.pin_line(
            session,
            plan,
            line_id,
            kind="fix",
            value_fte=0.0,
            comment="no",
            expected_version=1,
            user_name="alf",
        )
    with sessions() as session:
        plan = repository.get_plan(session, plan_id)
        line = next(ln for ln in plan.lines if ln.id == line_id)
        assert (line_edits.planned_fte(plan, line), line.row_version) == (12.0, 2)  # anna's


def test_concurrent_saves_of_one_line_let_exactly_one_win(engine: Engine) -> None:
    plan_id = _plan(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        line_id = repository.get_plan(session, plan_id).lines[0].id
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def save(i: int) -> None:
        barrier.wait()
        try:
            with sessions.begin() as session:
                plan = repository.get_plan(session, plan_id)
                line_edits.pin_line(
                    session,
                    plan,
                    line_id,
                    kind="fix",
                    value_fte=float(i),
                    comment=f"planner {i}",
                    expected_version=1,
                    user_name=f"p{i}",
                )
            outcomes.append("won")
        except repository.ConflictError:
            outcomes.append("conflict")
        except DBAPIError:  # SQLite may refuse a writer outright while another holds the lock
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["won"]
    with sessions() as session:
        events = [
            e for e in repository.audit_events(session, plan_ids=[plan_id]) if e.action == "pin.fix"
        ]
        assert len(events) == 1


def test_approved_plan_is_immutable_and_a_pin_makes_a_new_version(engine: Engine) -> None:
    plan_id = _plan(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        plan = repository.get_plan(session, plan_id)
        workflow.approve_plan(session, plan, user_name="anna", revision=1, comment="ok")
    with sessions.begin() as session:
        plan = repository.get_plan(session, plan_id)
        assert plan.status == "approved" and all(ln.approved for ln in plan.lines)
        line = plan.lines[0]
        new_plan, new_line = line_edits.pin_line(
            session,
            plan,
            line.id,
            kind="ban",
            value_fte=0,
            comment="budget cut",
            expected_version=line.row_version,
            user_name="alf",
        )
        new_id = new_plan.id
        assert new_plan.parent_id == plan_id and new_plan.version == 2
        assert new_plan.status == "draft" and new_line.suggested_fte == 11.0
        assert line_edits.planned_fte(new_plan, new_line) == new_line.current_fte
    with sessions() as session:
        old = repository.get_plan(session, plan_id)
        assert old.status == "approved" and old.lines[0].suggested_fte == 11.0
        assert len(old.pins) == 0 and len(repository.get_plan(session, new_id).pins) == 1
        with pytest.raises(repository.ConflictError, match="already approved"):
            workflow.approve_plan(session, old, user_name="alf", revision=old.revision)
        with pytest.raises(repository.ConflictError, match="already approved"):
            line_edits.approve_line(
                session,
                old,
                old.lines[1].id,
                expected_version=old.lines[1].row_version,
                user_name="x",
            )


def test_audit_log_is_append_only_in_the_database(engine: Engine) -> None:
    plan_id = _plan(engine)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET comment = 'rewritten'"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    sessions = session_factory(engine)
    with sessions() as session:
        events = repository.audit_events(session, plan_ids=[plan_id])
        assert [e.action for e in events] == ["plan.create"]
        assert events[0].user_name == "anna" and events[0].after["lines"] == len(LINES)


def test_every_pin_and_approval_is_audited_with_before_and_after(engine: Engine) -> None:
    plan_id = _plan(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        plan = repository.get_plan(session, plan_id)
        a, b = plan.lines[0], plan.lines[1]
        line_edits.pin_line(
            session,
            plan,
            a.id,
            kind="floor",
            value_fte=3.0,
            comment="refugee families arriving",
            expected_version=1,
            user_name="anna",
        )
        line_edits.approve_line(
            session, plan, b.id, expected_version=1, user_name="alf", comment="fine"
        )
    with sessions() as session:
        events = {e.action: e for e in repository.audit_events(session, plan_ids=[plan_id])}
        pin = events["pin.floor"]
        assert pin.before["suggested_fte"] == 11.0 and pin.after["suggested_fte"] == 11.0
        assert pin.after["pinned_fte"] == 13.0 and pin.after["value_fte"] == 3.0
        assert pin.comment == "refugee families arriving" and pin.user_name == "anna"
        assert events["line.approve"].after["approved"] is True
        assert [a.line_id for a in line_edits.approvals(session, plan_id)] == [b.id]


def test_users_need_a_known_role_and_a_district_unless_admin(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        with pytest.raises(repository.StoreError, match="role must be one of"):
            repository.create_user(session, name="x", password_hash="h", role="boss", district="D")
        with pytest.raises(repository.StoreError, match="needs a district"):
            repository.create_user(
                session, name="x", password_hash="h", role="viewer", district=None
            )
        repository.create_user(session, name="root", password_hash="h", role="admin", district=None)
        with pytest.raises(repository.StoreError, match="already exists"):
            repository.create_user(
                session, name="root", password_hash="h", role="admin", district=None
            )
        assert repository.count_users(session) == 1


def test_cache_holds_one_payload_per_fingerprint_model_and_kind(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        repository.cache_put(
            session, data_fingerprint="f", model_version="1", kind="forecasts", payload=b"one"
        )
        repository.cache_put(
            session, data_fingerprint="f", model_version="1", kind="forecasts", payload=b"two"
        )
    with sessions() as session:
        assert (
            repository.cache_get(session, data_fingerprint="f", model_version="1", kind="forecasts")
            == b"one"
        )
        assert (
            repository.cache_get(session, data_fingerprint="f", model_version="2", kind="forecasts")
            is None
        )
