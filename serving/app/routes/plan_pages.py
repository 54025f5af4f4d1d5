"""The plan pages (Jinja2 + HTMX): start a plan (one district, or every district with its own
pools), the plans' history, the difference of two plans, one plan's page with its lines and
explanations, and the forms that pin or approve a line, approve the plan or solve it again.
After a change the browser is sent back to the page (post/redirect/get), so a reload never
repeats an action."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from data.contract import RESOURCES
from data.errors import Problem, UserInputError
from serving import overrides
from serving.app import plan_services, services
from serving.app.deps import (
    CurrentAdmin,
    CurrentPlanner,
    CurrentUser,
    EngineDep,
    SessionDep,
    page_reader,
)
from serving.app.line_words import line_explanation
from serving.app.privacy import explanation_for, is_internal_view
from serving.app.rendering import page_language
from serving.app.routes.common import next_step, render, render_kept
from serving.app.routes.exports import plan_info
from serving.app.schemas import (
    DistrictPlansCreate,
    LineApprove,
    PinCreate,
    PlanApprove,
    PlanCreate,
)
from serving.exports import summary_rows
from serving.i18n import LANGUAGES, gettext
from serving.plan_header import plan_header_rows
from serving.plan_options import form_fields, values_from_form
from serving.plan_warnings import warning_lines
from serving.store import repository
from serving.words import RESOURCE as RESOURCE_WORDS

router = APIRouter(tags=["pages"], default_response_class=HTMLResponse)


def _invalid(exc: ValidationError, file: str) -> UserInputError:
    problems = [
        Problem(file=file, column=".".join(str(x) for x in e["loc"]), rule=e["msg"])
        for e in exc.errors()
    ]
    return UserInputError("The form has problems", problems)


@router.get("/plans", summary="Plans: start one, history, compare two")
def plans(request: Request, user: CurrentUser, state: EngineDep, session: SessionDep) -> Response:
    status = state.status()
    all_plans = services.plans_for(session, user)
    districts = services.visible_districts(user, state.district()) if status.data_ok else []
    return render(
        request,
        "plans.html",
        {
            "plans": all_plans,
            "districts": districts,
            "can_change": services.can_change(user),
            "next_step": next_step(status, len(all_plans), page_language(request)),
            "plan_fields": form_fields(),
        },
    )


@router.post("/plans", summary="Start a plan (form)")
async def create_plan(
    request: Request, user: CurrentPlanner, state: EngineDep, session: SessionDep
) -> Response:
    # the form's fields are serving.plan_options.OPTIONS, read back by the same module
    form = await request.form()
    try:
        params = PlanCreate.model_validate(values_from_form(form))
    except ValidationError as exc:
        raise _invalid(exc, "new plan form") from None
    plan = await run_in_threadpool(plan_services.create_plan, state, session, user, params)
    return RedirectResponse(f"/plans/{plan.id}", status_code=303)


@router.post("/plans/districts", summary="Plan every district, each with its own pools (form)")
async def create_district_plans(
    request: Request, user: CurrentAdmin, state: EngineDep, session: SessionDep
) -> Response:
    from serving.district_plans import parse_district_pools

    form = await request.form()
    values = values_from_form(form)
    values.pop("district", None)
    # one line per district and resource, as the command line's --district-pool, the resource
    # named in the page's words or by its code
    lines = str(form.get("district_pools") or "").splitlines()
    values["district_pools"] = parse_district_pools(
        [_resource_code(t.strip()) for t in lines if t.strip()]
    )
    try:
        params = DistrictPlansCreate.model_validate(values)
    except ValidationError as exc:
        raise _invalid(exc, "district plans form") from None
    run_id, _ = await run_in_threadpool(
        plan_services.create_district_plans, state, session, user, params
    )
    return RedirectResponse(f"/plans/districts/{run_id}", status_code=303)


def _resource_code(line: str) -> str:
    """``Bydel Alna:Grunnbemanning=3`` → ``Bydel Alna:staff=3``: a resource written as the
    pages name it (in either language, any case) becomes its code; anything else is kept for
    the parser to judge."""
    district, colon, rest = line.rpartition(":")
    resource, equals, fte = rest.partition("=")
    named = {
        gettext(language, msgid).casefold(): code
        for code, msgid in RESOURCE_WORDS.items()
        for language in LANGUAGES
    }
    code = named.get(resource.strip().casefold(), resource.strip())
    return f"{district}{colon}{code}{equals}{fte}" if colon and equals else line


@router.get("/plans/districts/{run_id}", summary="District plans of one run and the city sum")
def district_plans(
    request: Request, run_id: str, user: CurrentUser, session: SessionDep
) -> Response:
    plans_of_run, summary = plan_services.district_run(session, user, run_id)
    language = page_language(request)
    rows = []
    for plan in plans_of_run:
        pools = dict((plan.header or {}).get("pools_fte") or {})
        rows.append({"plan": plan, "pools": pools})
    return render(
        request,
        "district_plans.html",
        {
            "run_id": run_id,
            "rows": rows,
            "summary": summary_rows(language, summary),
            "resources": RESOURCES,
        },
    )


@router.get("/plans/diff", summary="Difference between two plans")
def diff(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    a: Annotated[str, Query()],
    b: Annotated[str, Query()],
) -> Response:
    plan_a, plan_b = services.plan_for(session, user, a), services.plan_for(session, user, b)
    result = overrides.plan_diff(plan_a, plan_b, page_language(request))
    return render(
        request,
        "diff.html",
        {
            "a": plan_a,
            "b": plan_b,
            "rows": result.rows.to_dict(orient="records"),
            "changed": result.n_changed,
            "compared": result.n_lines,
        },
    )


@router.get("/plans/{plan_id}", summary="Plan page")
def plan_page(
    request: Request,
    plan_id: str,
    show: str = "changed",
    resource: str = "",
    area: str = "",
    line_state: Annotated[str, Query(alias="state")] = "",
) -> Response:
    """Summary first, then the lines — by default only the changed (or pinned) ones — with
    filters by resource, area, changed and approved/open, each line explained in short rows."""
    state = request.app.state.engine_state
    view: dict[str, Any] = {
        "show": show,
        "resource": resource,
        "area": area,
        "line_state": line_state,
    }
    with page_reader(request) as (session, user):
        # rendered once per plan state (revision, trail, newer versions) and view
        stamp = services.plan_stamp_for(session, user, plan_id)
        return render_kept(
            request,
            "plan.html",
            ("plan", plan_id, stamp, *view.items()),
            lambda: _plan_context(request, plan_id, user, state, session, **view),
        )


def _plan_context(
    request: Request,
    plan_id: str,
    user: Any,
    state: Any,
    session: Any,
    *,
    show: str,
    resource: str,
    area: str,
    line_state: str,
) -> dict[str, Any]:
    plan = services.plan_for(session, user, plan_id)
    language = page_language(request)
    internal = is_internal_view(user)
    areas = _areas(state)
    planned = overrides.planned_lines(plan)
    lines = []
    for p in planned:
        ln = p.line
        if show != "all" and not _changed(p):
            continue
        if resource and ln.resource != resource:
            continue
        if area and areas.get(ln.kindergarten_id) != area:
            continue
        if line_state == "approved" and not ln.approved:
            continue
        if line_state == "open" and ln.approved:
            continue
        explained = _Explained(ln, explanation_for(user, dict(ln.explanation or {})))
        lines.append(
            {
                "line": ln,
                "planned": p,
                "area": areas.get(ln.kindergarten_id, ""),
                "why": line_explanation(
                    language, explained, internal=internal, pins=[p.pin] if p.pin else []
                ),
            }
        )
    counts = {
        "all": len(planned),
        "changed": sum(1 for p in planned if _changed(p)),
        "approved": sum(1 for p in planned if p.line.approved),
    }
    return {
        "plan": plan,
        "lines": lines,
        "counts": counts,
        "filters": {"show": show, "resource": resource, "area": area, "state": line_state},
        "areas": sorted(set(areas.values())),
        "resources": sorted({ln.resource for ln in plan.lines}, key=_resource_order),
        "header_rows": plan_header_rows(
            language,
            plan_info(plan),
            plan.header or {},
            simulated=plan.simulated,
            with_warnings=False,
        ),
        "pin_rows": [
            {
                "name": row["kindergarten_name"],
                "resource": row["resource"],
                "sentence": row["sentence"],
                "rules": bool(row["rules_line"]),
            }
            for row in overrides.pins_frame(plan, language).to_dict(orient="records")
        ],
        "warnings": warning_lines(
            list((plan.header or {}).get("warnings") or []), language, _names(state, plan)
        ),
        "summary": summary_rows(language, plan.summary or []),
        "can_change": services.can_change(user),
        "children": [p for p in services.plans_for(session, user) if p.parent_id == plan.id],
        "audit": repository.audit_events(session, plan_ids=[plan.id], limit=200),
    }


def _changed(planned: Any) -> bool:
    """A line the plan changes (pins applied) or a planner pinned."""
    return abs(planned.planned_change_fte) > 1e-9 or planned.pin is not None


class _Explained:
    """A plan line seen through the privacy rules (its explanation suppressed for viewers)."""

    def __init__(self, line: Any, explanation: dict[str, Any]) -> None:
        self._line = line
        self.explanation = explanation

    def __getattr__(self, name: str) -> Any:
        return getattr(self._line, name)


def _resource_order(resource: str) -> int:
    from data.contract import RESOURCES

    return RESOURCES.index(resource) if resource in RESOURCES else len(RESOURCES)


def _names(state: Any, plan: Any) -> dict[str, str]:
    """Kindergarten id → name: the plan's lines', and the data set's for those the plan left out."""
    names = {str(ln.kindergarten_id): str(ln.kindergarten_name) for ln in plan.lines}
    try:
        kindergartens = state.district().kindergartens
    except Exception:  # no data set yet: the plan's own names
        return names
    known = zip(kindergartens["kindergarten_id"], kindergartens["name"], strict=True)
    return {str(k): str(n) for k, n in known} | names


def _areas(state: Any) -> dict[str, str]:
    """Kindergarten → area (bydel part), when the data set names areas; empty without data."""
    try:
        kindergartens = state.district().kindergartens
    except Exception:  # no data set yet: the plan page still shows the stored plan
        return {}
    if "area" not in kindergartens.columns:
        return {}
    return {
        str(k): str(a)
        for k, a in zip(kindergartens["kindergarten_id"], kindergartens["area"], strict=True)
        if isinstance(a, str) and a
    }


@router.post("/plans/{plan_id}/lines/{line_id}/pin", summary="Pin a line (form)")
def pin(
    request: Request,
    plan_id: str,
    line_id: int,
    user: CurrentPlanner,
    session: SessionDep,
    kind: Annotated[str, Form()],
    comment: Annotated[str, Form()],
    row_version: Annotated[int, Form()],
    value_fte: Annotated[float, Form()] = 0.0,
) -> Response:
    plan = services.plan_for(session, user, plan_id)
    try:
        # model_validate checks the form's free-text kind against the allowed pin kinds
        body = PinCreate.model_validate(
            {"kind": kind, "value_fte": value_fte, "comment": comment, "row_version": row_version}
        )
    except ValidationError as exc:
        raise _invalid(exc, f"pin form, plan {plan_id}, line {line_id}") from None
    changed, line = plan_services.pin_line(session, user, plan, line_id, body)
    return RedirectResponse(f"/plans/{changed.id}#line-{line.id}", status_code=303)


@router.post("/plans/{plan_id}/lines/{line_id}/approve", summary="Approve a line (form)")
def approve_line(
    plan_id: str,
    line_id: int,
    user: CurrentPlanner,
    session: SessionDep,
    row_version: Annotated[int, Form()],
    comment: Annotated[str, Form()] = "",
) -> Response:
    plan = services.plan_for(session, user, plan_id)
    plan_services.approve_line(
        session, user, plan, line_id, LineApprove(row_version=row_version, comment=comment)
    )
    return RedirectResponse(f"/plans/{plan_id}#line-{line_id}", status_code=303)


@router.post("/plans/{plan_id}/approve", summary="Approve the whole plan (form)")
def approve_plan(
    plan_id: str,
    user: CurrentPlanner,
    session: SessionDep,
    revision: Annotated[int, Form()],
    comment: Annotated[str, Form()] = "",
    supersede: Annotated[bool, Form()] = False,
    reason: Annotated[str, Form()] = "",
) -> Response:
    plan = services.plan_for(session, user, plan_id)
    try:
        body = PlanApprove(revision=revision, comment=comment, supersede=supersede, reason=reason)
    except ValidationError as exc:
        raise _invalid(exc, f"approval form, plan {plan_id}") from None
    plan_services.approve_plan(session, user, plan, body)
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)


@router.post("/plans/{plan_id}/resolve", summary="Solve again with the pins (form)")
def resolve(plan_id: str, user: CurrentPlanner, state: EngineDep, session: SessionDep) -> Response:
    plan = services.plan_for(session, user, plan_id)
    new = plan_services.resolve_plan(state, session, user, plan)
    return RedirectResponse(f"/plans/{new.id}", status_code=303)
