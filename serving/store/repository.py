"""Plain functions over the store: users, plans and their versions, the audit log and the
engine-output cache. Every change a planner makes is one transaction that also appends an audit
event; a change made against an outdated line version raises :class:`ConflictError` (the line
edits themselves — pins and line approvals — are :mod:`serving.store.line_edits`)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from data.contract import PLAN_NUMBER_COLUMNS
from serving.store.tables import (
    ROLES,
    AuditEvent,
    CachedFrame,
    Pin,
    Plan,
    PlanLine,
    User,
    utc_now,
)

#: how a plan period's first and last month are written together (the engine writes an en dash)
PERIOD_SEPARATORS = ("–", "/", "..")


class ConflictError(Exception):
    """Someone else changed the thing first; the message says who and what to do (a
    :class:`serving.i18n.Message`: English as text, the page's language on a page)."""


class StoreError(ValueError):
    """A request the store cannot honour (unknown user name, bad role, unknown line)."""


# --- users -----------------------------------------------------------------------------------


def create_user(
    session: Session, *, name: str, password_hash: str, role: str, district: str | None
) -> User:
    if role not in ROLES:
        raise StoreError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role != "admin" and not district:
        raise StoreError(f"a {role} needs a district (--district): they see only their own")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise StoreError(f"a user named {name!r} already exists")
    user = User(
        name=name,
        password_hash=password_hash,
        role=role,
        district=district if role != "admin" else (district or None),
    )
    session.add(user)
    session.flush()
    append_audit(
        session,
        user_name="system",
        action="user.create",
        entity="user",
        entity_id=name,
        after={"role": role, "district": district},
    )
    return user


def user_by_name(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


# --- audit -----------------------------------------------------------------------------------


def append_audit(
    session: Session,
    *,
    user_name: str,
    action: str,
    entity: str,
    entity_id: str,
    plan_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    comment: str = "",
) -> AuditEvent:
    event = AuditEvent(
        user_name=user_name,
        action=action,
        entity=entity,
        entity_id=entity_id,
        plan_id=plan_id,
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        comment=comment,
        at=utc_now(),
    )
    session.add(event)
    return event


def audit_events(
    session: Session, *, plan_ids: Iterable[str] | None = None, limit: int = 500
) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if plan_ids is not None:
        query = query.where(AuditEvent.plan_id.in_(list(plan_ids)))
    return list(session.scalars(query))


# --- plans -----------------------------------------------------------------------------------


def period_bounds(text: str) -> tuple[str | None, str | None]:
    """A plan period as its first and last month: ``"2026-11–2027-10"`` → ``("2026-11",
    "2027-10")``; one month → (it, it); anything else → (None, None)."""
    text = text.strip()
    for separator in PERIOD_SEPARATORS:
        if separator in text:
            first, _, last = text.partition(separator)
            return first.strip() or None, last.strip() or None
    return (text, text) if len(text) == 7 else (None, None)


def new_plan_id(district: str) -> str:
    slug = "".join(ch for ch in district.lower().replace("bydel ", "") if ch.isalnum())[:16]
    return f"{slug or 'plan'}-{utc_now():%Y%m%d}-{secrets.token_hex(4)}"


def line_snapshot(line: PlanLine) -> dict[str, Any]:
    return {
        "kindergarten_id": line.kindergarten_id,
        "resource": line.resource,
        "suggested_fte": line.suggested_fte,
        "change_fte": line.change_fte,
        "overridden": line.overridden,
        "approved": line.approved,
        "row_version": line.row_version,
    }


def save_plan(
    session: Session,
    *,
    district: str,
    lines: Sequence[Mapping[str, Any]],
    header: Mapping[str, Any],
    summary: Sequence[Mapping[str, Any]],
    created_by: str,
    data_fingerprint: str = "",
    model_version: str = "",
    simulated: bool = False,
    parent: Plan | None = None,
    plan_id: str | None = None,
) -> Plan:
    """Store a freshly solved plan (a new family, or a new version of ``parent``: numbered after
    the newest version of its family, so "the newest version" is always the highest number)."""
    if plan_id is None:
        plan_id = new_plan_id(district)
    family_id = (parent.family_id or parent.id) if parent is not None else plan_id
    newest = (
        session.scalar(select(func.max(Plan.version)).where(Plan.family_id == family_id))
        if parent is not None
        else None
    )
    period_start, period_end = period_bounds(
        str(header.get("period") or (lines[0]["period"] if lines else ""))
    )
    plan = Plan(
        id=plan_id,
        district=district,
        status="draft",
        version=(max(newest or 0, parent.version) + 1) if parent is not None else 1,
        parent_id=parent.id if parent is not None else None,
        family_id=family_id,
        period_start=period_start,
        period_end=period_end,
        revision=1,
        header=dict(header),
        summary=[dict(row) for row in summary],
        data_fingerprint=data_fingerprint,
        model_version=model_version,
        simulated=simulated,
        created_by=created_by,
        created_at=utc_now(),
    )
    for row in lines:
        suggested = float(row["suggested_fte"])
        plan.lines.append(
            PlanLine(
                kindergarten_id=str(row["kindergarten_id"]),
                kindergarten_name=str(row.get("kindergarten_name") or row["kindergarten_id"]),
                period=str(row["period"]),
                resource=str(row["resource"]),
                current_fte=float(row["current_fte"]),
                suggested_fte=suggested,
                engine_fte=float(row.get("engine_fte", suggested)),
                change_fte=float(row["change_fte"]),
                required_fte_p50=float(row["required_fte_p50"]),
                required_fte_p90=float(row["required_fte_p90"]),
                shortfall_risk=float(row["shortfall_risk"]),
                reason=str(row.get("reason") or ""),
                explanation=dict(row.get("explanation") or {}),
                overridden=bool(row.get("overridden", False)),
                approved=False,
                row_version=1,
            )
        )
    session.add(plan)
    session.flush()
    append_audit(
        session,
        user_name=created_by,
        action="plan.create",
        entity="plan",
        entity_id=plan.id,
        plan_id=plan.id,
        after={"version": plan.version, "parent_id": plan.parent_id, "lines": len(plan.lines)},
    )
    return plan


def get_plan(session: Session, plan_id: str) -> Plan | None:
    return session.scalar(
        select(Plan)
        .where(Plan.id == plan_id)
        .options(selectinload(Plan.lines), selectinload(Plan.pins))
    )


def plan_stamp(session: Session, plan_id: str) -> tuple[Any, ...] | None:
    """What identifies a plan's state as its page shows it, from one light query (no lines):
    district, status, revision (every change bumps it), who replaced it, the newest event of its
    trail and its newer versions. None when there is no such plan."""
    newest_event = (
        select(func.max(AuditEvent.id)).where(AuditEvent.plan_id == plan_id).scalar_subquery()
    )
    row = session.execute(
        select(Plan.district, Plan.status, Plan.revision, Plan.superseded_by, newest_event).where(
            Plan.id == plan_id
        )
    ).first()
    if row is None:
        return None
    children = session.scalars(
        select(Plan.id).where(Plan.parent_id == plan_id).order_by(Plan.id)
    ).all()
    return (*row, tuple(children))


def plans_stamp(session: Session) -> int:
    """The newest event of any plan's trail: changes whenever any plan is made or changed."""
    return int(
        session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.plan_id.is_not(None))) or 0
    )


def count_plans(session: Session, district: str | None = None) -> int:
    query = select(func.count(Plan.id))
    if district is not None:
        query = query.where(Plan.district == district)
    return int(session.scalar(query) or 0)


def list_plans(session: Session, district: str | None = None) -> list[Plan]:
    query = select(Plan).order_by(Plan.created_at.desc(), Plan.id.desc())
    if district is not None:
        query = query.where(Plan.district == district)
    return list(session.scalars(query))


def effective_pins(plan: Plan) -> list[Pin]:
    """The pin that rules each line: the newest (every earlier one stays on record)."""
    newest: dict[tuple[str, str], Pin] = {}
    for pin in sorted(plan.pins, key=lambda p: p.id or 0):
        newest[(pin.kindergarten_id, pin.resource)] = pin
    return sorted(newest.values(), key=lambda p: p.id or 0)


def copy_pins(source: Plan, target: Plan) -> None:
    """Carry ``source``'s ruling pins to ``target`` (a new version of it), keeping who pinned,
    when and why."""
    for pin in effective_pins(source):
        target.pins.append(
            Pin(
                kindergarten_id=pin.kindergarten_id,
                resource=pin.resource,
                kind=pin.kind,
                value_fte=pin.value_fte,
                comment=pin.comment,
                created_by=pin.created_by,
                created_at=pin.created_at,
            )
        )


def new_version(session: Session, plan: Plan, *, user_name: str, comment: str = "") -> Plan:
    """A draft copy of ``plan`` (lines and pins kept, approvals not): how an approved plan is
    changed without touching it."""
    rows = []
    for line in plan.lines:
        row: dict[str, Any] = {name: getattr(line, name) for name in PLAN_NUMBER_COLUMNS}
        row.update(
            kindergarten_id=line.kindergarten_id,
            kindergarten_name=line.kindergarten_name,
            period=line.period,
            resource=line.resource,
            reason=line.reason,
            explanation=line.explanation,
            engine_fte=line.engine_fte,
            overridden=line.overridden,
        )
        rows.append(row)
    copy = save_plan(
        session,
        district=plan.district,
        lines=rows,
        header=plan.header,
        summary=plan.summary,
        created_by=user_name,
        data_fingerprint=plan.data_fingerprint,
        model_version=plan.model_version,
        simulated=plan.simulated,
        parent=plan,
    )
    copy_pins(plan, copy)
    session.flush()
    append_audit(
        session,
        user_name=user_name,
        action="plan.new_version",
        entity="plan",
        entity_id=copy.id,
        plan_id=copy.id,
        before={"plan_id": plan.id, "status": plan.status},
        after={"plan_id": copy.id, "version": copy.version},
        comment=comment,
    )
    return copy


# --- cache of engine output ------------------------------------------------------------------


def cache_get(
    session: Session, *, data_fingerprint: str, model_version: str, kind: str
) -> bytes | None:
    row = session.scalar(
        select(CachedFrame).where(
            CachedFrame.data_fingerprint == data_fingerprint,
            CachedFrame.model_version == model_version,
            CachedFrame.kind == kind,
        )
    )
    return row.payload if row is not None else None


def cache_put(
    session: Session, *, data_fingerprint: str, model_version: str, kind: str, payload: bytes
) -> None:
    if (
        cache_get(
            session, data_fingerprint=data_fingerprint, model_version=model_version, kind=kind
        )
        is not None
    ):
        return
    session.add(
        CachedFrame(
            data_fingerprint=data_fingerprint,
            model_version=model_version,
            kind=kind,
            payload=payload,
            created_at=utc_now(),
        )
    )
    session.flush()
