"""Server-rendered pages (Jinja2 + HTMX). Forms post here; after a change the browser is sent
back to the page (post/redirect/get), so a reload never repeats an action."""

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
from serving.app.routes.common import engine_status, next_step, render, render_kept
from serving.app.routes.exports import plan_info
from serving.app.schemas import (
    DistrictPlansCreate,
    LineApprove,
    PinCreate,
    PlanApprove,
    PlanCreate,
)
from serving.app.views import (
    BREACH_FLAG_PROBABILITY,
    HIGH_SICK_LEAVE_SHARE,
    HIGH_TURNOVER_SHARE_PER_YEAR,
    LEGAL_FLAG_PROBABILITY,
    LEGAL_FLAG_STAFF_STEP_FTE,
    band_svg,
)
from serving.exports import summary_rows
from serving.formatting import format_count
from serving.i18n import LANGUAGE_COOKIE, LANGUAGES, N_, as_language, gettext
from serving.plan_header import plan_header_rows
from serving.plan_options import form_fields, values_from_form
from serving.plan_warnings import warning_lines
from serving.store import repository
from serving.words import RESOURCE as RESOURCE_WORDS

router = APIRouter(tags=["pages"], default_response_class=HTMLResponse)
SORTABLE = (
    "name",
    "district",
    "children_now",
    "children_p50_12m",
    "staff_fte",
    "need_staff_fte_p90",
    "staff_gap_fte",
    "breach_probability",
    "effective_breach_probability",
    "sick_leave_12m",
    "turnover_12m",
    "n_flags",
)
#: overview rows per page
OVERVIEW_PAGE_SIZE = 100


def _invalid(exc: ValidationError, file: str) -> UserInputError:
    problems = [
        Problem(file=file, column=".".join(str(x) for x in e["loc"]), rule=e["msg"])
        for e in exc.errors()
    ]
    return UserInputError("The form has problems", problems)


#: The overview's query when none is given (the route's defaults, and the pages rendered ahead
#: in serving.app.routes.overview_ahead: one definition)
OVERVIEW_DEFAULTS: dict[str, Any] = {
    "q": "",
    "municipality": "",
    "district": "",
    "flag": "",
    "sort": "n_flags",
    "dir": "desc",
    "page": 1,
}


@router.get("/", summary="District overview")
def overview(
    request: Request,
    q: str = OVERVIEW_DEFAULTS["q"],
    municipality: str = OVERVIEW_DEFAULTS["municipality"],
    district: str = OVERVIEW_DEFAULTS["district"],
    flag: str = OVERVIEW_DEFAULTS["flag"],
    sort: str = OVERVIEW_DEFAULTS["sort"],
    dir: str = OVERVIEW_DEFAULTS["dir"],
    page: int = OVERVIEW_DEFAULTS["page"],
) -> Response:
    # the overview shows no plan, only whether the district has one (what to do first): its
    # pages stay kept while planners solve and approve
    with page_reader(request) as (session, user):
        has_plans = services.count_plans_for(session, user) > 0
    query = {
        "q": q,
        "municipality": municipality,
        "district": district,
        "flag": flag,
        "sort": sort,
        "dir": dir,
        "page": page,
    }
    # every audience's default overview is rendered ahead, again when the data or model change
    request.app.state.overview_ahead.refresh(engine_status(request))
    return overview_page(request, user, request.app.state.engine_state, has_plans, query)


def overview_page(
    request: Request,
    user: Any,
    state: Any,
    has_plans: bool,
    query: dict[str, Any],
    *,
    hold: bool = False,
) -> HTMLResponse:
    """The overview for ``user`` and ``query`` (kept per state; ``hold``: rendered ahead)."""
    return render_kept(
        request,
        "overview.html",
        ("overview", has_plans, *query.items()),
        lambda: _overview_context(request, user, state, has_plans, **query),
        hold=hold,
    )


def _overview_context(
    request: Request,
    user: Any,
    state: Any,
    has_plans: bool,
    *,
    q: str,
    municipality: str,
    district: str,
    flag: str,
    sort: str,
    dir: str,
    page: int,
) -> dict[str, Any]:
    status = state.status()
    context: dict[str, Any] = {
        "rows": [],
        "q": q,
        "municipality": municipality,
        "district": district,
        "flag": flag,
        "sort": sort,
        "dir": dir,
        "sortable": SORTABLE,
        "page": 1,
        "pages": 1,
        "n_rows": 0,
        "thresholds": {
            "breach": BREACH_FLAG_PROBABILITY,
            "legal": LEGAL_FLAG_PROBABILITY,
            "legal_step": LEGAL_FLAG_STAFF_STEP_FTE,
            "sick": HIGH_SICK_LEAVE_SHARE,
            "turnover": HIGH_TURNOVER_SHARE_PER_YEAR,
        },
    }
    context["next_step"] = next_step(status, int(has_plans), page_language(request))
    if status.ready:
        context["key_figures"] = services.district_key_figures(state, user)
        rows = services.overview(state, user)
        context["municipalities"] = sorted(rows["municipality"].unique().tolist())
        # the districts to choose from: those of the municipality chosen
        in_municipality = services.filter_overview(rows, municipality=municipality)
        context["districts"] = sorted(in_municipality["district"].unique().tolist())
        rows = services.filter_overview(
            rows, q=q, municipality=municipality, district=district, flag=flag
        )
        if sort in SORTABLE:
            rows = rows.sort_values(sort, ascending=dir != "desc", na_position="last")
        # a nation is 5,500 rows: one page of them at a time (and their bands drawn only)
        n_rows = len(rows)
        rows, shown_page, pages = services.page_of(rows, page, OVERVIEW_PAGE_SIZE)
        context.update(page=shown_page, pages=pages, n_rows=n_rows)
        records = rows.to_dict(orient="records")
        language = page_language(request)
        for r in records:
            label = gettext(
                language,
                N_("Children expected over the next 12 months: from %(low)s to %(high)s"),
                low=format_count(min(r["band_p10"], default=None), language),
                high=format_count(max(r["band_p90"], default=None), language),
            )
            r["band_svg"] = band_svg(r["band_p10"], r["band_p50"], r["band_p90"], label=label)
        context["rows"] = records
    return context


@router.get("/kindergartens/{kindergarten_id}", summary="Kindergarten page")
def kindergarten(request: Request, kindergarten_id: str) -> Response:
    state = request.app.state.engine_state
    with page_reader(request) as (session, user):
        # the page lists the kindergarten's lines in every stored plan: any plan change is news
        key = ("kindergarten", kindergarten_id, repository.plans_stamp(session))
        return render_kept(
            request,
            "kindergarten.html",
            key,
            lambda: _kindergarten_context(request, kindergarten_id, user, state, session),
        )


def _kindergarten_context(
    request: Request, kindergarten_id: str, user: Any, state: Any, session: Any
) -> dict[str, Any]:
    """The page's frame around its two prepared sections (serving.app.prepared): no model
    work here, only the allocations from the store."""
    info = services.kindergarten_info(state, user, kindergarten_id)
    sections = request.app.state.prepared_pages.sections(
        kindergarten_id, page_language(request), is_internal_view(user)
    )
    return {
        "info": info,
        "sections": sections,
        "allocations": services.allocation_history(session, user, kindergarten_id),
    }


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


@router.get("/exports", summary="Exports page")
def exports_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    return render(request, "exports.html", {"plans": services.plans_for(session, user)})


@router.get("/language", include_in_schema=False)
def choose_language(lang: str = "nb", next: str = "/") -> Response:
    """Remembers the user's language in a cookie and goes back to the page."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE, as_language(lang), max_age=365 * 24 * 3600, samesite="lax", httponly=True
    )
    return response
