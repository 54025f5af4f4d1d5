"""A draft plan's lines changed by planners: pins (a fixed figure, a floor or a ceiling) and line
approvals, each one transaction that first claims the draft (its revision bumped in a conditional
UPDATE, :func:`claim_draft`) and appends an audit event; a change made against an outdated line
version raises :class:`serving.store.repository.ConflictError` naming who changed it and when.
The planned figure of a line with its ruling pin applied (:func:`planned_fte`) is the one the
pages, the exports and the approval's pool check read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from serving.i18n import N_, Fte, Message, Moment
from serving.store.repository import (
    ConflictError,
    StoreError,
    append_audit,
    line_snapshot,
    new_version,
)
from serving.store.tables import (
    PIN_KINDS,
    Approval,
    AuditEvent,
    Pin,
    Plan,
    PlanLine,
    utc_now,
)
from serving.words import RESOURCE, as_message


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
