"""The JSON API: everything the pages do, with OpenAPI at /docs. State-changing calls need the
session cookie and the ``X-CSRF-Token`` header."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from serving import overrides
from serving.app import plan_services, services
from serving.app.deps import CurrentAdmin, CurrentPlanner, CurrentUser, EngineDep, SessionDep
from serving.app.privacy import explanation_for, reason_for
from serving.app.routes.common import next_step
from serving.app.schemas import (
    AuditEventPublic,
    DiffRow,
    DistrictPlansCreate,
    DistrictPlansPublic,
    EngineStatusPublic,
    KeyFigurePublic,
    KindergartenRisk,
    LineApprove,
    LinePublic,
    OverviewPublic,
    PinCreate,
    PinPublic,
    PinResult,
    PlanApprove,
    PlanCreate,
    PlanDiffPublic,
    PlanPublic,
    PlanSummaryPublic,
    SolveProgress,
    SolvesRunning,
)
from serving.app.services import OVERVIEW_FLAGS
from serving.store import repository
from serving.store.tables import Pin, Plan, PlanLine, User

router = APIRouter(prefix="/api", tags=["api"])
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Someone changed it first (line version) or it is approved."}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown, or outside your district."}
}


def pin_public(plan: Plan, pin: Pin) -> PinPublic:
    return PinPublic.model_validate(pin).model_copy(
        update={"sentence": overrides.pin_sentence(pin, overrides.line_of(plan, pin))}
    )


def line_public(user: User, plan: Plan, line: PlanLine) -> LinePublic:
    planned = overrides.planned_line(plan, line)
    return LinePublic.model_validate(
        {
            **{
                name: getattr(line, name) for name in LinePublic.model_fields if hasattr(line, name)
            },
            "reason": reason_for(user, planned.reason()),
            "explanation": explanation_for(user, line.explanation),
            "overridden": planned.overridden,
            "planned_fte": planned.planned_fte,
            "planned_change_fte": planned.planned_change_fte,
            "pin": pin_public(plan, planned.pin) if planned.pin is not None else None,
        }
    )


def plan_public(user: User, plan: Plan) -> PlanPublic:
    summary = PlanSummaryPublic.model_validate(plan)
    return PlanPublic(
        **summary.model_dump(),
        header=plan.header,
        summary=plan.summary,
        lines=[line_public(user, plan, ln) for ln in plan.lines],
        pins=[pin_public(plan, p) for p in plan.pins],
    )


@router.get("/status", response_model=EngineStatusPublic, summary="Data, model, what next")
def status(user: CurrentUser, state: EngineDep, session: SessionDep) -> EngineStatusPublic:
    engine_status = state.status()
    n_plans = len(services.plans_for(session, user))
    return EngineStatusPublic(
        data_ok=engine_status.data_ok,
        model_ok=engine_status.model_ok,
        simulated=engine_status.simulated,
        data_fingerprint=engine_status.fingerprint,
        model_version=engine_status.model_version,
        next_step=next_step(engine_status, n_plans),
        problems=list(engine_status.problems),
    )


@router.get(
    "/overview",
    response_model=OverviewPublic,
    summary="Every kindergarten you may see: forecast band, need, risk flags",
)
def overview(
    user: CurrentUser,
    state: EngineDep,
    q: Annotated[str, Query(description="Name or number contains this.")] = "",
    municipality: Annotated[str, Query(description="Only this municipality.")] = "",
    district: Annotated[str, Query(description="Only this district.")] = "",
    flag: Annotated[
        str, Query(description=f"Only kindergartens with this flag: {', '.join(OVERVIEW_FLAGS)}.")
    ] = "",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[
        int | None, Query(ge=1, le=10_000, description="Rows per page; default: every row.")
    ] = None,
) -> OverviewPublic:
    rows = services.filter_overview(
        services.overview(state, user),
        q=q,
        municipality=municipality,
        district=district,
        flag=flag,
    )
    n_rows = len(rows)
    rows, page, pages = services.page_of(rows, page, page_size or max(n_rows, 1))
    records = rows.astype(object).where(rows.notna(), None).to_dict(orient="records")
    return OverviewPublic(
        n_kindergartens=n_rows,
        page=page,
        pages=pages,
        simulated=state.district().simulated,
        model_version=str(state.champion().version),
        data_fingerprint=state.fingerprint(),
        key_figures=[
            KeyFigurePublic.model_validate(f) for f in services.district_key_figures(state, user)
        ],
        kindergartens=[KindergartenRisk.model_validate(r) for r in records],
    )


@router.get(
    "/kindergartens/{kindergarten_id}",
    responses=NOT_FOUND,
    summary="One kindergarten: forecasts, history, drivers, allocation history",
)
def kindergarten(
    kindergarten_id: str, user: CurrentUser, state: EngineDep, session: SessionDep
) -> dict:
    from serving.app.privacy import suppress_frame_for

    detail = services.kindergarten(state, user, kindergarten_id)

    def records(frame):  # type: ignore[no-untyped-def]
        frame = suppress_frame_for(user, frame)
        return frame.astype(str).where(frame.notna(), None).to_dict(orient="records")

    info = {k: (None if v is None or v != v else str(v)) for k, v in detail["info"].items()}
    return {
        "kindergarten": info,
        "history": records(detail["history"]),
        "forecasts": records(detail["forecasts"]),
        "drivers": records(detail["drivers"]),
        "allocations": services.allocation_history(session, user, kindergarten_id),
        "simulated": state.district().simulated,
    }


@router.get("/plans", response_model=list[PlanSummaryPublic], summary="Plans you may see")
def list_plans(user: CurrentUser, session: SessionDep) -> list[PlanSummaryPublic]:
    return [PlanSummaryPublic.model_validate(p) for p in services.plans_for(session, user)]


@router.post(
    "/plans",
    response_model=PlanPublic,
    status_code=201,
    summary="Solve a new plan with the champion model",
)
def create_plan(
    body: PlanCreate, user: CurrentPlanner, state: EngineDep, session: SessionDep
) -> PlanPublic:
    plan = plan_services.create_plan(state, session, user, body)
    return plan_public(user, plan)


def district_run_public(session: Session, user: User, run_id: str) -> DistrictPlansPublic:
    plans, summary = plan_services.district_run(session, user, run_id)
    return DistrictPlansPublic(
        run_id=run_id,
        plans=[PlanSummaryPublic.model_validate(p) for p in plans],
        city_summary=summary,
    )


@router.post(
    "/plans/districts",
    response_model=DistrictPlansPublic,
    status_code=201,
    summary="Plan every district, each with its own pools, and sum them up for the city (admin)",
)
def create_district_plans(
    body: DistrictPlansCreate, user: CurrentAdmin, state: EngineDep, session: SessionDep
) -> DistrictPlansPublic:
    run_id, _ = plan_services.create_district_plans(state, session, user, body)
    return district_run_public(session, user, run_id)


@router.get(
    "/plans/districts/{run_id}",
    response_model=DistrictPlansPublic,
    responses=NOT_FOUND,
    summary="A run of district plans and its city summary",
)
def get_district_plans(run_id: str, user: CurrentUser, session: SessionDep) -> DistrictPlansPublic:
    return district_run_public(session, user, run_id)


@router.get(
    "/plans/diff",
    response_model=PlanDiffPublic,
    responses=NOT_FOUND,
    summary="The lines that differ between two plans (planned FTE, pins applied), b − a",
)
def diff(
    a: Annotated[str, Query()], b: Annotated[str, Query()], user: CurrentUser, session: SessionDep
) -> PlanDiffPublic:
    result = plan_services.plan_diff(
        services.plan_for(session, user, a), services.plan_for(session, user, b)
    )
    frame = result.rows.astype(object).where(result.rows.notna(), None)
    return PlanDiffPublic(
        a=a,
        b=b,
        n_lines=result.n_lines,
        n_changed=result.n_changed,
        rows=[DiffRow.model_validate(r) for r in frame.to_dict(orient="records")],
    )


@router.get("/plans/{plan_id}", response_model=PlanPublic, responses=NOT_FOUND)
def get_plan(plan_id: str, user: CurrentUser, session: SessionDep) -> PlanPublic:
    return plan_public(user, services.plan_for(session, user, plan_id))


@router.post(
    "/plans/{plan_id}/lines/{line_id}/pins",
    response_model=PinResult,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Pin/override one line (an approved plan gets a new draft version)",
)
def pin(
    plan_id: str, line_id: int, body: PinCreate, user: CurrentPlanner, session: SessionDep
) -> PinResult:
    plan = services.plan_for(session, user, plan_id)
    changed, line = plan_services.pin_line(session, user, plan, line_id, body)
    return PinResult(
        plan_id=changed.id,
        new_version=changed.id != plan_id,
        line=line_public(user, changed, line),
    )


@router.post(
    "/plans/{plan_id}/lines/{line_id}/approve",
    response_model=LinePublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Approve one line",
)
def approve_line(
    plan_id: str, line_id: int, body: LineApprove, user: CurrentPlanner, session: SessionDep
) -> LinePublic:
    plan = services.plan_for(session, user, plan_id)
    return line_public(user, plan, plan_services.approve_line(session, user, plan, line_id, body))


@router.post(
    "/plans/{plan_id}/approve",
    response_model=PlanPublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Approve the whole plan",
)
def approve_plan(
    plan_id: str, body: PlanApprove, user: CurrentPlanner, session: SessionDep
) -> PlanPublic:
    plan = services.plan_for(session, user, plan_id)
    return plan_public(user, plan_services.approve_plan(session, user, plan, body))


@router.post(
    "/plans/{plan_id}/resolve",
    response_model=PlanPublic,
    status_code=201,
    responses=NOT_FOUND,
    summary="Solve again honouring the pins (new draft version)",
)
def resolve(
    plan_id: str, user: CurrentPlanner, state: EngineDep, session: SessionDep
) -> PlanPublic:
    plan = services.plan_for(session, user, plan_id)
    return plan_public(user, plan_services.resolve_plan(state, session, user, plan))


@router.get(
    "/plans/{plan_id}/audit",
    response_model=list[AuditEventPublic],
    responses=NOT_FOUND,
    summary="Audit trail of one plan",
)
def plan_audit(plan_id: str, user: CurrentUser, session: SessionDep) -> list[AuditEventPublic]:
    plan = services.plan_for(session, user, plan_id)
    return [
        AuditEventPublic.model_validate(e)
        for e in repository.audit_events(session, plan_ids=[plan.id])
    ]


@router.get(
    "/audit",
    response_model=list[AuditEventPublic],
    summary="Audit trail of the plans you may see (newest first)",
)
def audit(
    user: CurrentUser, session: SessionDep, limit: Annotated[int, Query(ge=1, le=5000)] = 500
) -> list[AuditEventPublic]:
    ids = None if user.role == "admin" else [p.id for p in services.plans_for(session, user)]
    return [
        AuditEventPublic.model_validate(e)
        for e in repository.audit_events(session, plan_ids=ids, limit=limit)
    ]


@router.get(
    "/solves",
    response_model=SolvesRunning,
    summary="Plans being solved now (the pages poll this to show progress)",
)
def solves_running(user: CurrentUser, state: EngineDep) -> SolvesRunning:
    return SolvesRunning(running=[SolveProgress(**s) for s in state.solves_running()])
