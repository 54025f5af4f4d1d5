"""Downloads: a plan as Excel or as a CSV/Parquet table, and flat tables for Power BI."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from fastapi import APIRouter, Request, Response

from serving import exports, overrides, workbook
from serving.app import plan_services, services
from serving.app.deps import CurrentUser, EngineDep, SessionDep
from serving.app.rendering import page_language
from serving.key_figures import key_figures_frame
from serving.store import repository
from serving.store.tables import Plan

router = APIRouter(prefix="/exports", tags=["exports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown, or outside your district."}
}


def _download(content: bytes, filename: str, media_type: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


PLAN_INFO_COLUMNS = (
    "plan_id",
    "district",
    "status",
    "version",
    "parent_plan",
    "created_by",
    "created_at",
    "approved_by",
    "approved_at",
    "model_version",
    "data_fingerprint",
)


def plan_info(plan: Plan) -> dict:
    return {
        "plan_id": plan.id,
        "district": plan.district,
        "status": plan.status,
        "version": plan.version,
        "parent_plan": plan.parent_id or "",
        "created_by": plan.created_by,
        "created_at": plan.created_at.isoformat(),
        "approved_by": plan.approved_by or "",
        "approved_at": plan.approved_at.isoformat() if plan.approved_at else "",
        "model_version": plan.model_version,
        "data_fingerprint": plan.data_fingerprint,
    }


@router.get(
    "/plans/{plan_id}.xlsx",
    responses=NOT_FOUND,
    summary="A plan as Excel: plan sheet (settings, model, data, approval), lines, comparison, "
    "pins and audit trail, in the user's language",
)
def plan_xlsx(request: Request, plan_id: str, user: CurrentUser, session: SessionDep) -> Response:
    plan = services.plan_for(session, user, plan_id)
    content = workbook.plan_workbook(
        language=page_language(request),
        plan_info=plan_info(plan),
        header=plan.header or {},
        lines=plan_services.plan_lines_frame(plan, page_language(request)),
        summary=plan.summary or [],
        pins=overrides.pins_frame(plan, page_language(request)),
        audit=repository.audit_events(session, plan_ids=[plan.id], limit=10_000),
        simulated=plan.simulated,
    )
    return _download(content, f"plan-{plan.id}-v{plan.version}.xlsx", XLSX)


@router.get(
    "/plans/{plan_id}.{fmt}",
    responses=NOT_FOUND,
    summary="A plan's lines: CSV for people (the Excel lines sheet, in the user's language), "
    "Parquet for reports (stable machine column names, as the plan_lines table)",
)
def plan_table(
    request: Request,
    plan_id: str,
    fmt: Literal["csv", "parquet"],
    user: CurrentUser,
    session: SessionDep,
) -> Response:
    plan = services.plan_for(session, user, plan_id)
    language = page_language(request)
    lines = plan_services.plan_lines_frame(plan, language)
    if fmt == "csv":
        content = workbook.lines_csv(language, lines, simulated=plan.simulated)
    else:
        content = exports.table_bytes(lines, fmt, simulated=plan.simulated)
    return _download(content, f"plan-{plan.id}-v{plan.version}.{fmt}", MEDIA[fmt])


@router.get(
    "/tables/{table}.{fmt}",
    summary="Power BI tables: plans, plan_lines, forecasts, overview, key_figures",
)
def table(
    request: Request,
    table: Literal["plans", "plan_lines", "forecasts", "overview", "key_figures"],
    fmt: Literal["csv", "parquet"],
    user: CurrentUser,
    state: EngineDep,
    session: SessionDep,
) -> Response:
    plans = services.plans_for(session, user)
    simulated = any(p.simulated for p in plans)
    if table == "plans":
        frame = pd.DataFrame(
            [plan_info(p) | {"simulated": p.simulated} for p in plans],
            columns=[*PLAN_INFO_COLUMNS, "simulated"],
        )
    elif table == "plan_lines":
        frames = [
            plan_services.plan_lines_frame(
                services.plan_for(session, user, p.id), page_language(request)
            ).assign(plan_status=p.status, plan_version=p.version)
            for p in plans
        ]
        frame = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=["plan_id", "kindergarten_id"])
        )
    else:
        simulated = state.district().simulated
        if table == "forecasts":
            visible = services.visible_data(state, user).kindergartens["kindergarten_id"]
            all_forecasts = state.forecasts()
            frame = all_forecasts[all_forecasts["kindergarten_id"].isin(visible)]
        elif table == "key_figures":
            figures = services.district_key_figures(state, user, exported=True)
            frame = key_figures_frame(figures, page_language(request))
        else:
            frame = services.overview(state, user).drop(
                columns=["band_p10", "band_p50", "band_p90"], errors="ignore"
            )
    content = exports.table_bytes(frame, fmt, simulated=simulated)
    return _download(content, f"{table}.{fmt}", MEDIA[fmt])
