"""``create_app(settings)``: the planners' web app. Runs the store's migrations at start, so it
comes up on an empty database; with no data or no trained model the pages say what to do."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from data.errors import UserInputError
from serving.app.api_docs import install_api_docs
from serving.app.deps import CsrfRefused, NotAuthenticated, RoleRefused
from serving.app.engine import EngineState, SolverCrashed
from serving.app.page_cache import PageCache
from serving.app.prepared import PageBeingPrepared, PreparedPages
from serving.app.rendering import TEMPLATES_DIR as TEMPLATES_DIR  # the tests' way in
from serving.app.rendering import page_language, page_templates
from serving.app.security import SecurityHeaders
from serving.app.services import Forbidden, NotFound, warm_key_figures
from serving.app.settings import Settings
from serving.auth import SessionSigner
from serving.i18n import N_, Message, say
from serving.store.db import fill_pool, make_engine, session_factory, upgrade
from serving.store.login_store import SessionTouches
from serving.store.repository import ConflictError, StoreError

APP_DIR = Path(__file__).parent
STATIC_DIR = APP_DIR.parent / "static"


def plotly_js_path() -> Path:
    """Plotly's JavaScript from the installed plotly package: no CDN, these machines reach no
    internet."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.startswith("/exports/")


def _error(
    request: Request,
    status: int,
    message: object,
    problems: Sequence[object] = (),
) -> Response:
    """The API answers in English (``detail``, ``problems``); a page says the message and the
    problems in its language (a :class:`serving.i18n.Message` or a catalogue msgid)."""
    if _wants_json(request):
        body: dict = {"detail": str(message)}
        if problems:
            body["problems"] = [str(p) for p in problems]
        return JSONResponse(body, status_code=status)
    from serving.app.routes.common import render

    language = page_language(request)
    # a message from outside the app's catalogue (the data checks, the model registry) is
    # shown as the engine wrote it, in English, marked so for people and screen readers
    said = say(message, language)
    engine_words = not isinstance(message, Message) and said == str(message)
    return render(
        request,
        "error.html",
        {
            "status_code": status,
            "message": said,
            "engine_words": engine_words and language != "en",
            "problems": [say(p, language) for p in problems],
        },
        status_code=status,
    )


def _message(exc: Exception) -> object:
    """The exception's message as raised (a :class:`serving.i18n.Message` keeps its words)."""
    return exc.args[0] if len(exc.args) == 1 else str(exc)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def _anonymous(request: Request, exc: NotAuthenticated) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {"detail": "Not logged in: POST /api/login first."},
                status_code=401,
                headers={"WWW-Authenticate": "Cookie"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return _error(
            request,
            403,
            Message(
                N_(
                    "Refused: the form or request carried no valid CSRF token. "
                    "Reload the page and try again."
                )
            ),
        )

    # Errors whose message is shown as it is, each with its status code.
    plain_errors: tuple[tuple[type[Exception], int], ...] = (
        (RoleRefused, 403),
        (Forbidden, 403),
        (NotFound, 404),
        (ConflictError, 409),
        (StoreError, 422),
    )
    for error_type, status in plain_errors:

        async def _plain(request: Request, exc: Exception, status: int = status) -> Response:
            return _error(request, status, _message(exc))

        app.add_exception_handler(error_type, _plain)

    @app.exception_handler(SolverCrashed)
    async def _solver_crashed(request: Request, exc: SolverCrashed) -> Response:
        response = _error(request, 503, _message(exc))
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(PageBeingPrepared)
    async def _being_prepared(request: Request, exc: PageBeingPrepared) -> Response:
        response = _error(request, 503, _message(exc))
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(UserInputError)
    async def _user_input(request: Request, exc: UserInputError) -> Response:
        return _error(request, 400, _message(exc), list(exc.problems))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        ]
        return _error(request, 422, Message(N_("The request is not valid.")), problems)


def warm(app: FastAPI) -> None:
    """What a start does in the background: the forecasts, drivers, overview and every
    audience's key figures computed (or loaded from the store), every audience's overview page
    rendered, then every kindergarten page's sections prepared in a process."""
    app.state.engine_state.warm()
    warm_key_figures(app.state.engine_state)
    app.state.overview_ahead.start()
    app.state.prepared_pages.start()
    # 50 planners opening their overview at once after a start waited for the store's
    # connections to be opened one by one (bench_load's first burst, 2026-12-07)
    fill_pool(app.state.db_engine)
    # what the warm-up loaded (data, model, forecasts, templates: millions of objects) lives as
    # long as the app: moved out of the collector's sight, a full collection scans only what
    # came after instead of stalling every request for up to 1.5 s (bench_load, load 13)
    gc.collect()
    gc.freeze()


def create_app(settings: Settings) -> FastAPI:
    """Build the app from one validated settings object (migrations run here)."""
    from serving.app.routes import api, auth_routes, dashboard, exports, pages, plan_pages
    from serving.app.routes.overview_ahead import OverviewAhead

    db_engine = make_engine(settings.database_url)
    upgrade(db_engine)
    sessions = session_factory(db_engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # SIGTERM / SIGINT: no solver process or resource tracker outlives the app
        app.state.prepared_pages.close()
        app.state.engine_state.close()
        app.state.session_touches.close()

    app = FastAPI(
        lifespan=lifespan,
        title="bemanning — planners' app",
        description="Review, adjust, approve and export staffing plans for kindergartens. "
        "Log in with POST /api/login; send the returned csrf_token as X-CSRF-Token on every "
        "POST.",
        version="0.1.0",
        docs_url=None,  # served from the installed swagger_ui_bundle, see api_docs
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db_engine = db_engine
    app.state.sessions = sessions
    app.state.signer = SessionSigner(
        settings.secret_key.get_secret_value(), max_age_s=settings.session_lifetime_s
    )
    app.state.engine_state = EngineState(settings=settings, sessions=sessions)
    app.state.session_touches = SessionTouches(sessions)
    app.state.page_cache = PageCache()  # rendered pages, see serving.app.page_cache
    app.state.overview_ahead = OverviewAhead(app)  # see serving.app.routes.overview_ahead
    app.state.templates = page_templates()
    app.state.prepared_pages = PreparedPages(  # see serving.app.prepared
        app.state.engine_state, settings.page_workers, environment=app.state.templates.env
    )

    @app.get("/health", tags=["meta"], summary="Liveness (no login needed)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(
            plotly_js_path(),
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    install_api_docs(app)  # before /static, so /static/swagger-ui is matched first
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(auth_routes.router)
    app.include_router(pages.router)
    app.include_router(plan_pages.router)
    app.include_router(api.router)
    app.include_router(exports.router)
    app.include_router(dashboard.router)
    _install_error_handlers(app)
    # outermost: every response gets the headers, compressed ones too
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)
    app.add_middleware(SecurityHeaders)
    if settings.warm_cache and settings.data_path is not None:
        import threading

        threading.Thread(target=warm, args=(app,), name="warm-cache", daemon=True).start()
    return app
