"""What every page shares: the logged-in user, the CSRF token for its forms, the engine's status
(simulated label, what to do first)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from serving.app.deps import UserView
from serving.app.engine import EngineStatus
from serving.app.rendering import language_context, page_language
from serving.i18n import N_, gettext, say

#: A kept page's answer depends on whether the browser takes gzip (as the middleware says too).
VARY = {"Vary": "Accept-Encoding"}


def next_step(status: EngineStatus, n_plans: int | None = None, language: str = "nb") -> str:
    """What to do first, in ``language`` (the engine's own detail stays as it reports it)."""
    if not status.data_ok:
        return say(status.data_message, language) or gettext(
            language, N_("Point the app at a data set: `bemanning serve --data DATA`.")
        )
    if not status.model_ok:
        first = gettext(
            language,
            N_(
                "No trained model yet: run `bemanning train DATA` first (it registers the "
                "champion model), then start a plan here."
            ),
        )
        if not status.model_message:
            return first
        detail = gettext(
            language,
            N_("The model registry says: %(detail)s"),
            detail=say(status.model_message, language),
        )
        return f"{first} {detail}"
    if n_plans == 0:
        return gettext(language, N_("No plan yet: start one on the Plans page."))
    return ""


def _page(
    request: Request, status: EngineStatus, context: dict[str, Any] | None, **shared: Any
) -> dict[str, Any]:
    language = page_language(request)
    page: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "status": status,
        "simulated": status.simulated,
        "next_step": next_step(status, language=language),
        **shared,
    }
    page.update(language_context(language))
    page.update(context or {})
    return page


def engine_status(request: Request) -> EngineStatus:
    """The engine's status as this request sees it, asked once per request: it looks at the data
    files' times, and asked three times it was ~13 % of a kept overview's time in the server
    (py-spy, 2026-12-07)."""
    status = getattr(request.state, "engine_status", None)
    if status is None:
        status = request.state.engine_status = request.app.state.engine_state.status()
    return status


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    status = engine_status(request)
    page = _page(request, status, context)
    return request.app.state.templates.TemplateResponse(
        request, name, page, status_code=status_code
    )


def render_kept(
    request: Request,
    name: str,
    key: Hashable,
    build: Callable[[], dict[str, Any]],
    *,
    hold: bool = False,
) -> HTMLResponse:
    """``render(request, name, build())``, rendered once per ``key`` and what else the page
    depends on (engine status, path, audience, language) and then served from
    :class:`serving.app.page_cache.PageCache`. ``key`` must name everything ``build`` reads from
    the store or the query; the user's name and the CSRF token may differ per request.
    ``hold``: a page rendered ahead (kept outside the LRU until the data or model change)."""
    status = engine_status(request)
    user = getattr(request.state, "user", None)
    if not status.ready or user is None:  # what to do first: cheap, and never kept
        return render(request, name, build())
    cache = request.app.state.page_cache
    full_key = (
        name,
        key,
        status,
        request.url.path,
        user.role,
        user.district,
        page_language(request),
    )
    kept = cache.get(full_key)
    request.state.page = "hit" if kept is not None else "miss"
    if kept is None:
        started = time.perf_counter()
        page = _page(
            request,
            status,
            build(),
            user=UserView(cache.name_mark, user.role, user.district),
            csrf_token=cache.csrf_mark,
        )
        html = request.app.state.templates.get_template(name).render({**page, "request": request})
        kept = cache.keep(html)
        if not hold:
            cache.put(full_key, kept)
        request.state.build_s = time.perf_counter() - started
    if hold:
        cache.hold(full_key, kept)
    values = cache.values(csrf_token=getattr(request.state, "csrf_token", ""), user_name=user.name)
    # compressed once when kept (serving.app.kept_page), so the gzip middleware passes it by
    if "gzip" in request.headers.get("accept-encoding", ""):
        return HTMLResponse(kept.gzip(values), headers={"Content-Encoding": "gzip", **VARY})
    return HTMLResponse(kept.body(values))  # the middleware adds Vary
