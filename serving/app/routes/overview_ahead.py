"""Every audience's overview rendered ahead, in the background, once per data set and model.

The overview is the page every planner opens first. Built on the request path, 50 planners
opening it at once after a start each built their own district's page: 14 builds of 0.1–0.3 s
holding the interpreter while the kept pages queued behind them (bench_load, 2026-12-07: the
overview's slowest 5 % were all in the run's first second). Here the default overview of every
audience (an admin; a planner and a viewer of each district), in every language, is rendered in
a background thread after the warm-up and again whenever the engine's status (data
fingerprint, model version) changes — for both states of "the district has a plan", the one
thing the overview shows from the store, so no plan solved or approved makes one stale. The
pages are held outside the page cache's LRU: browsing 700 kindergarten pages never pushes them
out. A query other than the default (a search, a filter, another sort or page) is rendered on
its first request and kept, as before.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import Request

from data.errors import UserInputError
from serving.app.deps import UserView
from serving.app.engine import EngineStatus
from serving.app.routes.pages import OVERVIEW_DEFAULTS, overview_page
from serving.app.services import audiences
from serving.i18n import LANGUAGE_COOKIE, LANGUAGES

log = logging.getLogger(__name__)


def audience_request(app: Any, audience: UserView, language: str) -> Request:
    """The overview's request as ``audience`` sends it in ``language``: rendered through it, a
    page's key is the very one a real request computes (serving.app.routes.common.render_kept)."""
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "server": ("localhost", 80),
            "path": "/",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"cookie", f"{LANGUAGE_COOKIE}={language}".encode())],
            "app": app,
            "state": {"user": audience, "csrf_token": ""},
        }
    )


class OverviewAhead:
    """Renders and holds the default overviews for the engine's current status."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rendered = 0  # pages rendered ahead since the start (tests, the benchmark)
        self._status: EngineStatus | None = None
        self._active = False
        self._lock = threading.Lock()
        self._done = threading.Event()

    def start(self) -> None:
        """Render every audience's overview now (the warm-up's thread) and from then on again
        in the background whenever the engine's status changes (:meth:`refresh`)."""
        self._active = True
        self._render_for(self.app.state.engine_state.status(), background=False)

    def refresh(self, status: EngineStatus) -> None:
        """Called by every overview request with the engine's ``status`` as it sees it: when
        the data or the model changed since the pages were rendered, render them again in the
        background (no-op before :meth:`start`, e.g. in tests that do not warm the app)."""
        if self._active:
            self._render_for(status, background=True)

    def _render_for(self, status: EngineStatus, *, background: bool) -> None:
        if not status.ready:  # nothing to render without data and model
            return
        with self._lock:
            if status == self._status:  # done, or under way, for this status
                return
            self._status = status
            self._done.clear()
        if not background:
            self._render_all(status)
            return
        threading.Thread(
            target=self._render_all, args=(status,), name="overview-ahead", daemon=True
        ).start()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the rendering started last is done (True) or ``timeout`` s passed."""
        return self._done.wait(timeout)

    def _render_all(self, status: EngineStatus) -> None:
        engine = self.app.state.engine_state
        first = self.app.state.settings.language
        languages = [first, *[x for x in LANGUAGES if x != first]]
        try:
            self.app.state.page_cache.release_held()
            for language in languages:
                for audience in audiences(engine):
                    for has_plans in (True, False):
                        if engine.status() != status:  # replaced meanwhile: the next run renders
                            return
                        overview_page(
                            audience_request(self.app, audience, language),
                            audience,
                            engine,
                            has_plans,
                            dict(OVERVIEW_DEFAULTS),
                            hold=True,
                        )
                        with self._lock:
                            self.rendered += 1
        except UserInputError:  # the data or the model went away: the pages say so
            return
        except Exception:  # a background job: a request renders what it needs itself
            log.exception("rendering the overviews ahead stopped")
        finally:
            with self._lock:
                if self._status == status:
                    self._done.set()
