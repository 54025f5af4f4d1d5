"""Plain functions over the store: users, plans and their lines, pins, approvals, the audit log
and the engine-output cache. Every change a planner makes is one transaction that also appends an
audit event; a change made against an outdated line version raises :class:`ConflictError`."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from data.contract import PLAN_NUMBER_COLUMNS
from serving.i18n import N_, Fte, Message, Moment
from serving.store.tables import (
    PIN_KINDS,
    ROLES,
    Approval,
    AuditEvent,
    CachedFrame,
    Pin,
    Plan,
    PlanLine,
    User,
    utc_now,
)
from serving.words import RESOURCE, as_message

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


def _line(plan: Plan, line_id: int) -> PlanLine:
    for line in plan.lines:
        if line.id == line_id:
            return line
    raise StoreError(Message(N_("Plan %(plan)s has no line %(line)s."), plan=plan.id, line=line_id))


def resource_word(resource: str) -> Message:
    """A resource as a word in a message (the table of :mod:`serving.words`)."""
    return as_message(RESOURCE, resource)


def _conflict_message(session: Session, line: PlanLine, expected_version: int) -> str:
    session.refresh(line)
    last = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.entity == "plan_line", AuditEvent.entity_id == str(line.id))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    values = {
        "line": line.kindergarten_id,
        "resource": resource_word(line.resource),
        "yours": expected_version,
        "now": line.row_version,
    }
    if last is None:
        return Message(
            N_(
                "Conflict: line %(line)s / %(resource)s was changed (you edited version "
                "%(yours)s, it is now version %(now)s). Reload the plan to see the change, then "
                "try again."
            ),
            **values,
        )
    return Message(
        N_(
            "Conflict: line %(line)s / %(resource)s was changed by %(who)s at %(when)s (you "
            "edited version %(yours)s, it is now version %(now)s). Reload the plan to see the "
            "change, then try again."
        ),
        who=last.user_name,
        when=Moment(last.at),
        **values,
    )


def _guarded_line_update(
    session: Session, line: PlanLine, expected_version: int, **values: Any
) -> None:
    """One UPDATE ... WHERE row_version = expected: atomic on SQLite and PostgreSQL alike, so two
    planners saving at once can never both win."""
    result = session.execute(
        update(PlanLine)
        .where(PlanLine.id == line.id, PlanLine.row_version == expected_version)
        .values(row_version=expected_version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(_conflict_message(session, line, expected_version))
    session.refresh(line)


def pinned_value(line: PlanLine, kind: str, value_fte: float) -> float:
    """The line's FTE with a pin applied to its solved figure (the solved figure itself never
    changes; the optimiser honours the pin on the next solve). A pin is about the line's
    *extra* FTE: ``fix`` sets the change to ``value_fte``, ``floor`` keeps at least that change,
    ``ban`` allows no change."""
    if kind == "fix":
        return line.current_fte + value_fte
    if kind == "floor":
        return max(line.suggested_fte, line.current_fte + value_fte)
    return line.current_fte


def ruling_pin(plan: Plan, line: PlanLine) -> Pin | None:
    """The pin that rules ``line`` (the newest on it), or None."""
    pins = [
        p
        for p in plan.pins
        if (p.kindergarten_id, p.resource) == (line.kindergarten_id, line.resource)
    ]
    return max(pins, key=lambda p: p.id or 0) if pins else None


def planned_fte(plan: Plan, line: PlanLine) -> float:
    """What the plan gives the line: the solved figure, or the ruling pin applied to it."""
    pin = ruling_pin(plan, line)
    if pin is None:
        return line.suggested_fte
    return round(pinned_value(line, pin.kind, pin.value_fte), 4)


def claim_draft(session: Session, plan: Plan, *, doing: str) -> None:
    """Bump the plan's revision if, and only if, it is still a draft: one conditional UPDATE, the
    first write of the change's transaction. A concurrent approval either committed first (then
    this refuses) or waits for this transaction and then finds the revision it named gone."""
    result = session.execute(
        update(Plan)
        .where(Plan.id == plan.id, Plan.status == "draft")
        .values(revision=Plan.revision + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(plan)
        raise ConflictError(
            Message(
                N_(
                    "Plan %(plan)s (version %(version)s) was %(status)s by %(who)s before your "
                    "%(doing)s was saved; your %(doing)s was not applied. Reload the plan: a pin "
                    "on an approved plan makes a new draft version."
                ),
                plan=plan.id,
                version=plan.version,
                status=status_word(plan.status),
                who=plan.approved_by or Message(N_("someone")),
                doing=Message(doing),
            )
        )
    session.refresh(plan, ["revision"])


#: What a change to a draft is called in a refusal (``claim_draft``'s ``doing``).
PIN, LINE_APPROVAL = N_("pin"), N_("line approval")


def status_word(status: str) -> Message:
    """A plan's status inside a sentence ("was approved")."""
    words = {
        "approved": N_("approved"),
        "superseded": N_("approved and then superseded"),
        "draft": N_("a draft"),
        "withdrawn": N_("withdrawn"),
    }
    return Message(words.get(status, status))


def pin_line(
    session: Session,
    plan: Plan,
    line_id: int,
    *,
    kind: str,
    value_fte: float,
    comment: str,
    expected_version: int,
    user_name: str,
) -> tuple[Plan, PlanLine]:
    """Pin (override) one line: a :class:`Pin` record beside the solved line, which stays as it
    was solved. On an approved plan this makes a new draft version and pins the matching line
    there; the approved plan stays as it was. Returns the plan and line pinned."""
    if kind not in PIN_KINDS:
        raise StoreError(
            Message(
                N_("The pin kind must be one of %(kinds)s, not %(kind)s."),
                kinds=", ".join(PIN_KINDS),
                kind=repr(kind),
            )
        )
    line = _line(plan, line_id)
    if pinned_value(line, kind, value_fte) < 0:
        raise StoreError(
            Message(
                N_(
                    "%(line)s / %(resource)s has %(fte)s FTE; a change of %(change)s FTE would "
                    "leave less than none."
                ),
                line=line.kindergarten_id,
                resource=resource_word(line.resource),
                fte=Fte(line.current_fte),
                change=Fte(value_fte),
            )
        )
    if line.row_version != expected_version:
        raise ConflictError(_conflict_message(session, line, expected_version))
    if plan.status != "draft":
        plan = new_version(
            session, plan, user_name=user_name, comment=f"change to approved plan: {comment}"
        )
        line = next(
            ln
            for ln in plan.lines
            if (ln.kindergarten_id, ln.resource) == (line.kindergarten_id, line.resource)
        )
        expected_version = line.row_version
    claim_draft(session, plan, doing=PIN)
    before = line_snapshot(line)
    # the line keeps its solved figures; only its version (and any line approval) moves
    _guarded_line_update(
        session, line, expected_version, overridden=True, approved=False, approved_by=None
    )
    pin = Pin(
        kindergarten_id=line.kindergarten_id,
        resource=line.resource,
        kind=kind,
        value_fte=value_fte,
        comment=comment,
        created_by=user_name,
        created_at=utc_now(),
    )
    plan.pins.append(pin)
    session.flush()
    append_audit(
        session,
        user_name=user_name,
        action=f"pin.{kind}",
        entity="plan_line",
        entity_id=str(line.id),
        plan_id=plan.id,
        before=before,
        after={
            **line_snapshot(line),
            "pin_id": pin.id,
            "value_fte": value_fte,
            "pinned_fte": round(pinned_value(line, kind, value_fte), 4),
        },
        comment=comment,
    )
    session.flush()
    return plan, line


def approve_line(
    session: Session,
    plan: Plan,
    line_id: int,
    *,
    expected_version: int,
    user_name: str,
    comment: str = "",
) -> PlanLine:
    if plan.status != "draft":
        raise ConflictError(
            Message(N_("Plan %(plan)s is already approved; its lines cannot change."), plan=plan.id)
        )
    line = _line(plan, line_id)
    before = line_snapshot(line)
    claim_draft(session, plan, doing=LINE_APPROVAL)
    _guarded_line_update(session, line, expected_version, approved=True, approved_by=user_name)
    session.add(
        Approval(
            plan_id=plan.id,
            line_id=line.id,
            approved_by=user_name,
            approved_at=utc_now(),
            comment=comment,
        )
    )
    append_audit(
        session,
        user_name=user_name,
        action="line.approve",
        entity="plan_line",
        entity_id=str(line.id),
        plan_id=plan.id,
        before=before,
        after=line_snapshot(line),
        comment=comment,
    )
    return line


def approvals(session: Session, plan_id: str) -> list[Approval]:
    return list(
        session.scalars(select(Approval).where(Approval.plan_id == plan_id).order_by(Approval.id))
    )


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
