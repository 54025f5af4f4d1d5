"""Dependency aliases for routes: ``SessionDep`` (a store session committed when the request
succeeds), ``CurrentUser`` (logged in; CSRF checked on every state-changing request),
``CurrentPlanner`` (planner or admin) and ``CurrentAdmin``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from serving.app.engine import EngineState
from serving.auth import CSRF_FORM_FIELD, CSRF_HEADER, SESSION_COOKIE, csrf_matches
from serving.i18n import N_, Message
from serving.store import login_store
from serving.store.tables import User
from serving.words import ROLE, as_message

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class UserView:
    name: str
    role: str
    district: str | None


class NotAuthenticated(Exception):
    """No valid session: 401 for the API, a redirect to the login page for pages."""


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token (403)."""


class RoleRefused(Exception):
    """Logged in, but the role may not do this (403)."""


def get_session(request: Request) -> Iterator[Session]:
    sessions = request.app.state.sessions
    with sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


#: ``scope="function"``: the session commits as soon as the route returns, before the response
#: is sent — so a browser that follows the redirect at once finds what was just saved.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_engine_state(request: Request) -> EngineState:
    return request.app.state.engine_state


EngineDep = Annotated[EngineState, Depends(get_engine_state)]


def _session_user(request: Request, session: Session) -> tuple[User, Any]:
    """The user of the request's session cookie, checked in the store (blocking I/O: run in the
    thread pool, never on the event loop, where a store waiting for a lock would stall every
    request of the server)."""
    data = request.app.state.signer.read(request.cookies.get(SESSION_COOKIE))
    if data is None or not data.token:
        raise NotAuthenticated()
    settings = request.app.state.settings
    alive = login_store.check_session(
        session,
        token=data.token,
        user_id=data.user_id,
        idle_s=settings.session_idle_s,
        lifetime_s=settings.session_lifetime_s,
        touch=request.app.state.session_touches.touch,  # written in batches, off the request
    )
    user = session.get(User, data.user_id) if alive else None
    if user is None:
        raise NotAuthenticated()
    # end the read transaction now: the connection goes back to the pool instead of being held
    # while the page waits for engine output (expire_on_commit is off, so ``user`` stays loaded)
    session.commit()
    return user, data


def _authenticated(request: Request, session: Session) -> tuple[User, Any]:
    """:func:`_session_user`, noted in ``request.state`` for the routes and templates."""
    user, data = _session_user(request, session)
    request.state.csrf_token = data.csrf_token
    request.state.session_token = data.token
    # a plain copy for templates: error pages render after the session has rolled back
    request.state.user = UserView(user.name, user.role, user.district)
    return user, data


@contextmanager
def page_reader(request: Request) -> Iterator[tuple[Session, User]]:
    """``with page_reader(request) as (session, user):`` in a plain (``def``) page route: the
    request's user checked as :data:`CurrentUser` checks it (GET only, so no CSRF token) and
    the page's store reads, in one store session in the route's own thread. For the pages
    opened most (overview, plan, kindergarten): as dependencies, the store session's start and
    end, the session check, the engine and the route each took a trip to the thread pool —
    five per page, and with 50 planners opening their overview at once those trips, not the
    kept page, were the cost (bench_load, 2026-12-07)."""
    if request.method not in SAFE_METHODS:  # a form or API call: CurrentUser checks its token
        raise CsrfRefused()
    with request.app.state.sessions() as session:
        try:
            user, _ = _authenticated(request, session)
            yield session, user
            session.commit()
        except BaseException:
            session.rollback()
            raise


async def current_user(request: Request, session: SessionDep) -> User:
    user, data = await run_in_threadpool(_authenticated, request, session)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FORM_FIELD)
            sent = value if isinstance(value, str) else None
        if not csrf_matches(data.csrf_token, sent):
            raise CsrfRefused()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def current_planner(user: CurrentUser) -> User:
    if user.role not in ("planner", "admin"):
        raise RoleRefused(
            Message(
                N_("%(user)s is a %(role)s: only planners and admins may change plans."),
                user=user.name,
                role=as_message(ROLE, user.role),
            )
        )
    return user


CurrentPlanner = Annotated[User, Depends(current_planner)]


def current_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise RoleRefused(
            Message(
                N_("%(user)s is a %(role)s: only admins may do this."),
                user=user.name,
                role=as_message(ROLE, user.role),
            )
        )
    return user


CurrentAdmin = Annotated[User, Depends(current_admin)]
