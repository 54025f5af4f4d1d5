"""Server-rendered pages (Jinja2 + HTMX). Forms post here; after a change the browser is sent
back to the page (post/redirect/get), so a reload never repeats an action."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from data.errors import Problem, UserInputError
from serving import overrides
from serving.app import services
from serving.app.deps import CurrentPlanner, CurrentUser, EngineDep, SessionDep
from serving.app.privacy import is_internal_view, reason_for, suppress_frame_for
from serving.app.routes.common import next_step, render
from serving.app.schemas import LineApprove, PinCreate, PlanApprove, PlanCreate
from serving.app.views import (
    BREACH_FLAG_PROBABILITY,
    HIGH_SICK_LEAVE_SHARE,
    HIGH_TURNOVER_SHARE_PER_YEAR,
    band_svg,
    fan_chart,
)
from serving.store import repository

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
    "sick_leave_12m",
    "turnover_12m",
    "n_flags",
)
FLAGS = {
    "breach": "flag_breach",
    "rising31": "flag_rising_31",
    "sick": "flag_sick_leave",
    "turnover": "flag_turnover",
}
TARGET_TITLES = {
    "children_under3": "Children under 3",
    "children_over3": "Children 3 and over",
    "vedtak_31": "§ 31 decisions",
    "vedtak_37": "§ 37 decisions",
    "sick_leave_rate": "Sick leave (share of hours)",
    "staff_leavers": "Staff leavers per month",
}


def _invalid(exc: ValidationError, file: str) -> UserInputError:
    problems = [
        Problem(file=file, column=".".join(str(x) for x in e["loc"]), rule=e["msg"])
        for e in exc.errors()
    ]
    return UserInputError("The form has problems", problems)


@router.get("/", summary="District overview")
def overview(
    request: Request,
    user: CurrentUser,
    state: EngineDep,
    session: SessionDep,
    q: str = "",
    district: str = "",
    flag: str = "",
    sort: str = "n_flags",
    dir: str = "desc",
) -> Response:
    status = state.status()
    context: dict[str, Any] = {
        "rows": [],
        "q": q,
        "district": district,
        "flag": flag,
        "sort": sort,
        "dir": dir,
        "sortable": SORTABLE,
        "n_plans": len(services.plans_for(session, user)),
        "thresholds": {
            "breach": BREACH_FLAG_PROBABILITY,
            "sick": HIGH_SICK_LEAVE_SHARE,
            "turnover": HIGH_TURNOVER_SHARE_PER_YEAR,
        },
    }
    context["next_step"] = next_step(status, context["n_plans"])
    if status.ready:
        rows = services.overview(state, user)
        context["districts"] = sorted(rows["district"].unique().tolist())
        if q:
            mask = rows["name"].str.contains(q, case=False, regex=False) | rows[
                "kindergarten_id"
            ].str.contains(q, case=False, regex=False)
            rows = rows[mask]
        if district:
            rows = rows[rows["district"] == district]
        if flag in FLAGS:
            rows = rows[rows[FLAGS[flag]].fillna(False).astype(bool)]
        if sort in SORTABLE:
            rows = rows.sort_values(sort, ascending=dir != "desc", na_position="last")
        records = rows.to_dict(orient="records")
        for r in records:
            r["band_svg"] = band_svg(r["band_p10"], r["band_p50"], r["band_p90"])
        context["rows"] = records
    return render(request, "overview.html", context)


@router.get("/kindergartens/{kindergarten_id}", summary="Kindergarten page")
def kindergarten(
    request: Request, kindergarten_id: str, user: CurrentUser, state: EngineDep, session: SessionDep
) -> Response:
    detail = services.kindergarten(state, user, kindergarten_id)
    internal = is_internal_view(user)
    charts = []
    for target, title in TARGET_TITLES.items():
        if internal and target.startswith("vedtak"):
            continue  # a chart cannot show "<5"; viewers get the suppressed table instead
        if (detail["forecasts"]["target"] == target).any():
            charts.append(
                {
                    "id": f"chart-{target}",
                    "figure": fan_chart(
                        detail["history"], detail["forecasts"], target, title=title
                    ),
                }
            )
    history = suppress_frame_for(user, detail["history"].tail(24).iloc[::-1])
    vedtak_fc = suppress_frame_for(
        user,
        detail["forecasts"][detail["forecasts"]["target"].astype(str).str.startswith("vedtak")],
    )
    return render(
        request,
        "kindergarten.html",
        {
            "info": detail["info"],
            "charts": charts,
            "history": history,
            "vedtak_forecasts": vedtak_fc,
            "drivers": _drivers_by_target(detail["drivers"], kindergarten_id, internal),
            "allocations": services.allocation_history(session, user, kindergarten_id),
        },
    )


DRIVER_HORIZON = 12


def _drivers_by_target(
    contributions: pd.DataFrame, kindergarten_id: str, internal: bool
) -> dict[str, pd.DataFrame]:
    """Per target, the features that move the 12-month forecast most (SHAP, target units);
    for viewers, decision targets are left out and decision-count feature values suppressed."""
    from serving.report.privacy import suppress_count
    from training.drivers import kindergarten_drivers

    if not {"target", "horizon", "feature", "contribution"} <= set(contributions.columns):
        return {}
    out = {}
    for target, title in TARGET_TITLES.items():
        if internal and target.startswith("vedtak"):
            continue
        try:
            top = kindergarten_drivers(
                contributions, kindergarten_id, target=target, horizon=DRIVER_HORIZON, top=5
            )
        except ValueError:
            continue
        if internal:
            top["value"] = [
                suppress_count(v) if str(f).startswith("vedtak") else v
                for f, v in zip(top["feature"], top["value"], strict=True)
            ]
        out[title] = top
    return out


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
            "next_step": next_step(status, len(all_plans)),
        },
    )


@router.post("/plans", summary="Start a plan (form)")
def create_plan(
    request: Request,
    user: CurrentPlanner,
    state: EngineDep,
    session: SessionDep,
    pool_staff: Annotated[float, Form()] = 0.0,
    pool_pedagogue: Annotated[float, Form()] = 0.0,
    pool_resource_pedagogue: Annotated[float, Form()] = 0.0,
    budget_nok: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    months: Annotated[int, Form()] = 12,
    risk: Annotated[float, Form()] = 0.9,
    equity_weight: Annotated[float, Form()] = 1.0,
    max_moves: Annotated[int, Form()] = 0,
    district: Annotated[str, Form()] = "",
) -> Response:
    try:
        params = PlanCreate(
            district=district or None,
            budget_nok=float(budget_nok) if budget_nok else None,
            pools={
                "staff": pool_staff,
                "pedagogue": pool_pedagogue,
                "resource_pedagogue": pool_resource_pedagogue,
            },
            start=start or None,
            months=months,
            risk=risk,
            equity_weight=equity_weight,
            max_moves=max_moves,
        )
    except ValidationError as exc:
        raise _invalid(exc, "new plan form") from None
    except ValueError:
        raise UserInputError(f"budget {budget_nok!r} is not a number of NOK") from None
    plan = services.create_plan(state, session, user, params)
    return RedirectResponse(f"/plans/{plan.id}", status_code=303)


@router.get("/plans/diff", summary="Difference between two plans")
def diff(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    a: Annotated[str, Query()],
    b: Annotated[str, Query()],
) -> Response:
    plan_a, plan_b = services.plan_for(session, user, a), services.plan_for(session, user, b)
    result = services.plan_diff(plan_a, plan_b)
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
def plan_page(request: Request, plan_id: str, user: CurrentUser, session: SessionDep) -> Response:
    plan = services.plan_for(session, user, plan_id)
    summary = pd.DataFrame(plan.summary)
    lines = [
        {
            "line": p.line,
            "planned": p,
            "reason": reason_for(user, p.reason()),
            "explanation": p.line.explanation,
        }
        for p in overrides.planned_lines(plan)
    ]
    return render(
        request,
        "plan.html",
        {
            "plan": plan,
            "lines": lines,
            "summary": summary,
            "can_change": services.can_change(user),
            "children": [p for p in services.plans_for(session, user) if p.parent_id == plan.id],
            "audit": repository.audit_events(session, plan_ids=[plan.id], limit=200),
        },
    )


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
    changed, line = services.pin_line(session, user, plan, line_id, body)
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
    services.approve_line(
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
    services.approve_plan(session, user, plan, body)
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)


@router.post("/plans/{plan_id}/resolve", summary="Solve again with the pins (form)")
def resolve(plan_id: str, user: CurrentPlanner, state: EngineDep, session: SessionDep) -> Response:
    plan = services.plan_for(session, user, plan_id)
    new = services.resolve_plan(state, session, user, plan)
    return RedirectResponse(f"/plans/{new.id}", status_code=303)


@router.get("/exports", summary="Exports page")
def exports_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    return render(request, "exports.html", {"plans": services.plans_for(session, user)})
