"""What every page shares: the logged-in user, the CSRF token for its forms, the engine's status
(simulated label, what to do first)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from serving.app.engine import EngineStatus
from serving.app.rendering import language_context, page_language
from serving.i18n import N_, gettext, say


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


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    state = request.app.state.engine_state
    status = state.status()
    language = page_language(request)
    page: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "status": status,
        "simulated": status.simulated,
        "next_step": next_step(status, language=language),
    }
    page.update(language_context(language))
    page.update(context or {})
    return request.app.state.templates.TemplateResponse(
        request, name, page, status_code=status_code
    )
