"""The plan workflow on SQLite and PostgreSQL: one approved plan per district and period, newest
version only, supersede with a reason, pools and budget at approval, the revision an approval
names, and a pin racing an approval (many rounds) never leaving an approved plan changed."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from test_store_repository import LINES

from serving.store import line_edits, repository, workflow
from serving.store.db import session_factory

DISTRICT = "Bydel Gamle Oslo"


def _save(
    engine: Engine,
    *,
    period: str = "2026-11–2027-10",
    parent: str | None = None,
    pools: dict[str, float] | None = None,
    budget_nok: float | None = None,
    district: str = DISTRICT,
) -> str:
    header: dict[str, Any] = {
        "period": period,
        "pools_fte": pools if pools is not None else {"staff": 3.0, "pedagogue": 3.0},
        "budget_nok": budget_nok,
        "cost_per_fte_year_nok": {"staff": 600_000.0, "pedagogue": 700_000.0},
    }
    with session_factory(engine).begin() as session:
        parent_plan = repository.get_plan(session, parent) if parent else None
        plan = repository.save_plan(
            session,
            district=district,
            lines=[{**row, "period": period} for row in LINES],
            header=header,
            summary=[],
            created_by="anna",
            parent=parent_plan,
        )
        return plan.id


def _approve(engine: Engine, plan_id: str, user: str = "anna", **kwargs: Any) -> Any:
    with session_factory(engine).begin() as session:
        plan = repository.get_plan(session, plan_id)
        revision = kwargs.pop("revision", plan.revision)
        return workflow.approve_plan(
            session, plan, user_name=user, revision=revision, **kwargs
        ).status


def _status(engine: Engine, plan_id: str) -> str:
    with session_factory(engine)() as session:
        return repository.get_plan(session, plan_id).status


def test_an_older_version_is_refused_naming_the_newest(engine: Engine) -> None:
    v1 = _save(engine)
    v2 = _save(engine, parent=v1)
    assert _approve(engine, v2) == "approved"
    with pytest.raises(repository.ConflictError, match=rf"version 1, not the newest: {v2}"):
        _approve(engine, v1)
    assert (_status(engine, v1), _status(engine, v2)) == ("draft", "approved")


def test_an_overlapping_plan_is_refused_naming_the_standing_one(engine: Engine) -> None:
    standing = _save(engine)
    _approve(engine, standing, user="alf")
    overlapping = _save(engine, period="2027-08–2028-07")
    with pytest.raises(
        repository.ConflictError, match=rf"already stands .*{standing} .*approved by alf"
    ):
        _approve(engine, overlapping)
    later = _save(engine, period="2027-11–2028-10")  # after the standing one: no overlap
    other_district = _save(engine, district="Bydel Grünerløkka")
    assert _approve(engine, later) == "approved"
    assert _approve(engine, other_district) == "approved"


def test_supersede_needs_a_reason_and_is_recorded_with_who_and_why(engine: Engine) -> None:
    v1 = _save(engine)
    v2 = _save(engine, parent=v1)
    _approve(engine, v2)
    with pytest.raises(repository.StoreError, match="needs a reason"):
        _approve(engine, v1, supersede=True, reason=" ")
    assert _approve(engine, v1, user="alf", supersede=True, reason="v2 counted a closed group")
    assert (_status(engine, v1), _status(engine, v2)) == ("approved", "superseded")
    with session_factory(engine)() as session:
        old = repository.get_plan(session, v2)
        assert old.superseded_by == v1
        for plan_id in (v1, v2):  # both plans' trails say who and why
            events = [
                e
                for e in repository.audit_events(session, plan_ids=[plan_id])
                if e.action == "plan.supersede"
            ]
            assert len(events) == 1
            assert events[0].user_name == "alf"
            assert events[0].comment == "v2 counted a closed group"


def test_pools_and_budget_are_checked_at_approval(engine: Engine) -> None:
    # the lines give +1.0 staff and +1.0 pedagogue to each of three kindergartens
    short_pool = _save(engine, pools={"staff": 2.0, "pedagogue": 3.0})
    with pytest.raises(repository.ConflictError, match="3 FTE of Basic staff from a pool of 2"):
        _approve(engine, short_pool)
    # 3 × 600 000 + 3 × 700 000 NOK for a year
    short_budget = _save(engine, budget_nok=3_800_000.0)
    with pytest.raises(repository.ConflictError, match=r"costs 3,900,000 NOK .*12 months"):
        _approve(engine, short_budget)
    assert _status(engine, short_pool) == _status(engine, short_budget) == "draft"
    # a pin counts: taking one staff FTE back makes the short pool enough
    with session_factory(engine).begin() as session:
        plan = repository.get_plan(session, short_pool)
        line = next(ln for ln in plan.lines if ln.resource == "staff")
        line_edits.pin_line(
            session,
            plan,
            line.id,
            kind="ban",
            value_fte=0.0,
            comment="no one to hire",
            expected_version=line.row_version,
            user_name="anna",
        )
    assert _approve(engine, short_pool) == "approved"


def test_an_approval_names_the_revision_seen(engine: Engine) -> None:
    plan_id = _save(engine)
    with session_factory(engine).begin() as session:
        plan = repository.get_plan(session, plan_id)
        line = plan.lines[0]
        line_edits.pin_line(
            session,
            plan,
            line.id,
            kind="fix",
            value_fte=0.0,
            comment="hold",
            expected_version=1,
            user_name="alf",
        )
    with pytest.raises(repository.ConflictError, match="you saw revision 1, it is now revision 2"):
        _approve(engine, plan_id, revision=1)
    assert _approve(engine, plan_id, revision=2) == "approved"


def _race_round(engine: Engine, round_: int) -> tuple[str, dict[str, str]]:
    """One planner approves the revision they saw while another pins a line, at once; returns
    the plan and what each of them was told."""
    sessions = session_factory(engine)
    plan_id = _save(engine, period=f"{2030 + round_}-01–{2030 + round_}-12")
    with sessions() as session:
        plan = repository.get_plan(session, plan_id)
        seen_revision, line_id = plan.revision, plan.lines[round_ % len(plan.lines)].id
    barrier = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def approve() -> None:
        barrier.wait()
        try:
            with sessions.begin() as session:
                plan = repository.get_plan(session, plan_id)
                workflow.approve_plan(session, plan, user_name="anna", revision=seen_revision)
            outcome["approve"] = "won"
        except (repository.ConflictError, DBAPIError):
            outcome["approve"] = "refused"

    def pin() -> None:
        barrier.wait()
        try:
            with sessions.begin() as session:
                plan = repository.get_plan(session, plan_id)
                changed, _ = line_edits.pin_line(
                    session,
                    plan,
                    line_id,
                    kind="fix",
                    value_fte=0.0,
                    comment="race",
                    expected_version=1,
                    user_name="alf",
                )
                outcome["pin"] = "won" if changed.id == plan_id else "new version"
        except (repository.ConflictError, DBAPIError):
            outcome["pin"] = "refused"

    threads = [threading.Thread(target=approve), threading.Thread(target=pin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return plan_id, outcome


def test_a_pin_racing_an_approval_never_changes_an_approved_plan(engine: Engine) -> None:
    rounds, tally = 20, {"approved": 0, "pinned": 0}
    for round_ in range(rounds):
        plan_id, outcome = _race_round(engine, round_)
        with session_factory(engine)() as session:
            plan = repository.get_plan(session, plan_id)
            assert all(ln.suggested_fte == 11.0 for ln in plan.lines)  # solved figures stay
            if plan.status == "approved":
                # approved as seen: no pin; the pin was refused or went to a new version
                assert plan.pins == [], (round_, outcome)
                assert outcome["pin"] in ("refused", "new version"), (round_, outcome)
                tally["approved"] += 1
            else:
                assert outcome == {"approve": "refused", "pin": "won"}, (round_, outcome)
                assert len(plan.pins) == 1
                tally["pinned"] += 1
    assert sum(tally.values()) == rounds
