"""The plan workflow's rules: one truth per district and period.

* At most one approved plan per district and overlapping plan period. Approving a plan that is
  not the newest version of its family, or whose period overlaps an approved plan, is refused
  with a message naming the plan that stands — unless the planner explicitly *supersedes* it,
  with a reason; the audit trail records ``plan.supersede`` with who and why.
* An approved plan never spends more than its pools or budget (its planned figures, pins
  applied, checked at approval).
* An approval names the plan revision the planner saw. Every change to a draft (a pin, a line
  approval) bumps the revision in a conditional UPDATE that is the first write of its
  transaction (:func:`serving.store.line_edits.claim_draft`), and the approval itself is one
  conditional UPDATE ``… WHERE status = 'draft' AND revision = :seen AND NOT EXISTS (newer
  version) AND NOT EXISTS (approved overlapping plan)``. Whichever commits first wins; the other
  finds its condition false and is refused, on SQLite (one writer at a time) and PostgreSQL
  (row locks; the district's plans are locked first so two approvals in one district queue)
  alike. So a pin racing an approval never leaves an approved plan changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from data.contract import RESOURCES
from serving.i18n import N_, Fte, Kroner, Message, Moment
from serving.store.line_edits import planned_fte, resource_word, status_word
from serving.store.repository import ConflictError, StoreError, append_audit
from serving.store.tables import Approval, Plan, PlanLine, utc_now

#: slack for float sums when comparing what a plan spends with its pools and budget
TOLERANCE_FTE = 1e-6
TOLERANCE_NOK = 1e-3


def describe(plan: Plan) -> Message:
    """A plan as a planner reads it in a message: id, version, period, who approved when."""
    period = (
        f", {plan.period_start}–{plan.period_end}" if plan.period_start and plan.period_end else ""
    )
    approved: Message | str = (
        Message(
            N_(", approved by %(who)s %(when)s"),
            who=plan.approved_by,
            when=Moment(plan.approved_at),
        )
        if plan.approved_by and plan.approved_at
        else ""
    )
    return Message(
        N_("%(plan)s (version %(version)s%(period)s%(approved)s)"),
        plan=plan.id,
        version=plan.version,
        period=period,
        approved=approved,
    )


def _overlaps(plan: Plan) -> Any:
    """SQL: an approved plan of ``plan``'s district whose period overlaps ``plan``'s (a plan
    with no period stands for all periods)."""
    other = aliased(Plan)
    condition = and_(
        other.district == plan.district, other.status == "approved", other.id != plan.id
    )
    if plan.period_start and plan.period_end:
        condition = and_(
            condition,
            or_(
                other.period_start.is_(None),
                other.period_end.is_(None),
                and_(other.period_start <= plan.period_end, other.period_end >= plan.period_start),
            ),
        )
    return other, condition


def standing_plans(session: Session, plan: Plan) -> list[Plan]:
    """The approved plans of ``plan``'s district whose period overlaps ``plan``'s."""
    other, condition = _overlaps(plan)
    return list(session.scalars(select(other).where(condition).order_by(other.approved_at)))


def _newer(plan: Plan) -> Any:
    newer = aliased(Plan)
    return newer, and_(newer.family_id == (plan.family_id or plan.id), newer.version > plan.version)


def newer_versions(session: Session, plan: Plan) -> list[Plan]:
    """Versions of ``plan``'s family numbered after it, newest first."""
    newer, condition = _newer(plan)
    return list(session.scalars(select(newer).where(condition).order_by(newer.version.desc())))


@dataclass(frozen=True)
class Spending:
    """What a plan's planned figures (pins applied) spend, against its pools and budget."""

    change_fte: dict[str, float]
    pools_fte: dict[str, float | None]  #: None: no pool (limited by the budget only)
    cost_nok: float
    budget_nok: float | None
    months: int

    def problems(self) -> list[Message]:
        out = []
        for resource in RESOURCES:
            pool = self.pools_fte.get(resource)
            used = self.change_fte.get(resource, 0.0)
            if pool is not None and used > pool + TOLERANCE_FTE:
                out.append(
                    Message(
                        N_("it gives %(used)s FTE of %(resource)s from a pool of %(pool)s"),
                        used=Fte(used),
                        resource=resource_word(resource),
                        pool=Fte(pool),
                    )
                )
        if self.budget_nok is not None and self.cost_nok > self.budget_nok + TOLERANCE_NOK:
            out.append(
                Message(
                    N_(
                        "it costs %(cost)s for the period of %(months)s months against a "
                        "budget of %(budget)s"
                    ),
                    cost=Kroner(self.cost_nok),
                    months=self.months,
                    budget=Kroner(self.budget_nok),
                )
            )
        return out


def _months(plan: Plan) -> int:
    if plan.period_start and plan.period_end:
        first_year, first_month = (int(x) for x in plan.period_start.split("-"))
        last_year, last_month = (int(x) for x in plan.period_end.split("-"))
        return (last_year - first_year) * 12 + last_month - first_month + 1
    request = plan.header.get("request") or {}
    return int(request.get("months", 12))


def spending(plan: Plan) -> Spending:
    """The plan's net change per resource and its cost for the plan period, from its planned
    figures (pins applied), beside its pools and budget as the header states them."""
    header: Mapping[str, Any] = plan.header or {}
    request: Mapping[str, Any] = header.get("request") or {}
    budget = header.get("budget_nok", request.get("budget_nok"))
    budget_nok = float(budget) if budget is not None else None
    given = header.get("pools_fte", request.get("pools")) or {}
    # as in the engine: a resource without a pool is limited by the budget only, or gets nothing
    pools: dict[str, float | None] = {
        r: float(given[r]) if r in given else (None if budget_nok is not None else 0.0)
        for r in RESOURCES
    }
    cost_per_year = header.get("cost_per_fte_year_nok") or {}
    months = _months(plan)
    change = {r: 0.0 for r in RESOURCES}
    cost = 0.0
    for line in plan.lines:
        delta = planned_fte(plan, line) - line.current_fte
        change[line.resource] = change.get(line.resource, 0.0) + delta
        cost += delta * float(cost_per_year.get(line.resource, 0.0)) * months / 12
    return Spending({r: round(v, 6) for r, v in change.items()}, pools, cost, budget_nok, months)


def _refusal(session: Session, plan: Plan, revision: int, supersede: bool) -> Message | None:
    """Why an approval of ``plan`` at ``revision`` cannot go through now (None: it can)."""
    session.refresh(plan)
    if plan.status != "draft":
        return Message(
            N_("Plan %(plan)s is already %(status)s; approved plans never change."),
            plan=describe(plan),
            status=status_word(plan.status),
        )
    if plan.revision != revision:
        return Message(
            N_(
                "Plan %(plan)s changed since you saw it (you saw revision %(seen)s, it is now "
                "revision %(now)s: a pin or a line approval came in). Reload the plan, look at "
                "the change and approve again."
            ),
            plan=plan.id,
            seen=revision,
            now=plan.revision,
        )
    if supersede:
        return None
    newer = newer_versions(session, plan)
    if newer:
        return Message(
            N_(
                "Plan %(plan)s is version %(version)s, not the newest: %(newer)s is "
                "%(status)s. Approve the newest version, or supersede with a reason."
            ),
            plan=plan.id,
            version=plan.version,
            newer=describe(newer[0]),
            status=status_word(newer[0].status),
        )
    standing = standing_plans(session, plan)
    if standing:
        return Message(
            N_(
                "An approved plan already stands for %(district)s in this period: %(plans)s. "
                "Supersede it explicitly, with a reason, to approve this one instead."
            ),
            district=plan.district,
            plans=[describe(p) for p in standing],
        )
    return None


def approve_plan(
    session: Session,
    plan: Plan,
    *,
    user_name: str,
    revision: int,
    comment: str = "",
    supersede: bool = False,
    reason: str = "",
) -> Plan:
    """Approve the whole plan as the planner saw it (``revision``), or refuse with
    :class:`ConflictError` naming what stands in the way (see module doc). ``supersede`` with a
    ``reason`` replaces the standing approved plans of the district and period (and allows
    approving an older version), recorded as ``plan.supersede``."""
    if supersede and not reason.strip():
        raise StoreError(
            Message(N_("Superseding an approved plan needs a reason (it goes in the audit log)."))
        )
    # PostgreSQL: lock the district's plans (in id order, so approvals queue without deadlock);
    # SQLite has one writer at a time and ignores FOR UPDATE
    session.execute(
        select(Plan.id).where(Plan.district == plan.district).order_by(Plan.id).with_for_update()
    )
    refusal = _refusal(session, plan, revision, supersede)
    if refusal is not None:
        raise ConflictError(refusal)
    over = spending(plan).problems()
    if over:
        raise ConflictError(
            Message(
                N_(
                    "Plan %(plan)s cannot be approved: %(problems)s. Change or remove pins and "
                    "solve again."
                ),
                plan=plan.id,
                problems=over,
            )
        )
    now = utc_now()
    statement = update(Plan).where(
        Plan.id == plan.id, Plan.status == "draft", Plan.revision == revision
    )
    if not supersede:
        newer, newer_condition = _newer(plan)
        other, overlap_condition = _overlaps(plan)
        statement = statement.where(
            ~exists(select(newer.id).where(newer_condition)),
            ~exists(select(other.id).where(overlap_condition)),
        )
    result = session.execute(
        statement.values(
            status="approved",
            approved_by=user_name,
            approved_at=now,
            revision=Plan.revision + 1,
        ).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            _refusal(session, plan, revision, supersede)
            or Message(
                N_("Plan %(plan)s changed while it was being approved; reload and try again."),
                plan=plan.id,
            )
        )
    # read inside the approval's write transaction, so a plan approved meanwhile is caught too
    standing = standing_plans(session, plan) if supersede else []
    for old in standing:
        _supersede(session, old, by=plan, user_name=user_name, reason=reason)
    session.execute(
        update(PlanLine)
        .where(PlanLine.plan_id == plan.id, PlanLine.approved.is_(False))
        .values(approved=True, approved_by=user_name, row_version=PlanLine.row_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.add(
        Approval(
            plan_id=plan.id, line_id=None, approved_by=user_name, approved_at=now, comment=comment
        )
    )
    append_audit(
        session,
        user_name=user_name,
        action="plan.approve",
        entity="plan",
        entity_id=plan.id,
        plan_id=plan.id,
        before={"status": "draft", "revision": revision},
        after={
            "status": "approved",
            "revision": revision + 1,
            "lines": len(plan.lines),
            "pins": len(plan.pins),
            "superseded": [p.id for p in standing],
        },
        comment=comment,
    )
    session.flush()
    session.refresh(plan)
    for line in plan.lines:
        session.refresh(line)
    return plan


def _supersede(session: Session, old: Plan, *, by: Plan, user_name: str, reason: str) -> None:
    session.execute(
        update(Plan)
        .where(Plan.id == old.id, Plan.status == "approved")
        .values(status="superseded", superseded_by=by.id, revision=Plan.revision + 1)
        .execution_options(synchronize_session=False)
    )
    append_audit(
        session,
        user_name=user_name,
        action="plan.supersede",
        entity="plan",
        entity_id=old.id,
        plan_id=old.id,
        before={"status": "approved", "approved_by": old.approved_by},
        after={"status": "superseded", "superseded_by": by.id},
        comment=reason,
    )
    # the approving plan's trail says it too, so either plan's history shows who and why
    append_audit(
        session,
        user_name=user_name,
        action="plan.supersede",
        entity="plan",
        entity_id=old.id,
        plan_id=by.id,
        before={"standing": old.id},
        after={"approved": by.id},
        comment=reason,
    )
    session.refresh(old)
