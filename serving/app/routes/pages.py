"""Server-rendered pages (Jinja2 + HTMX): the district overview, a kindergarten's page, the
exports page and the language choice. The plan pages and their forms are
:mod:`serving.app.routes.plan_pages`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from serving.app import services
from serving.app.deps import (
    CurrentUser,
    SessionDep,
    page_reader,
)
from serving.app.privacy import is_internal_view
from serving.app.rendering import page_language
from serving.app.routes.common import engine_status, next_step, render, render_kept
from serving.app.views import (
    BREACH_FLAG_PROBABILITY,
    HIGH_SICK_LEAVE_SHARE,
    HIGH_TURNOVER_SHARE_PER_YEAR,
    LEGAL_FLAG_PROBABILITY,
    LEGAL_FLAG_STAFF_STEP_FTE,
    band_svg,
)
from serving.formatting import format_count
from serving.i18n import LANGUAGE_COOKIE, N_, as_language, gettext
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
    "effective_breach_probability",
    "sick_leave_12m",
    "turnover_12m",
    "n_flags",
)
#: overview rows per page
OVERVIEW_PAGE_SIZE = 100


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
