"""Log in and out: a form for the pages, JSON for the API. The login form is protected by a
double-submit token (a cookie and a hidden field that must match), every later form by the
session's own CSRF token."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from data.errors import UserInputError
from serving.app.deps import CurrentAdmin, CurrentUser, SessionDep
from serving.app.routes.common import render
from serving.app.schemas import (
    LoginRequest,
    LoginResponse,
    PasswordChange,
    SessionsEnded,
    UserPublic,
)
from serving.app.security import (
    BAD_LOGIN,
    attempt_login,
    end_session,
    end_user_sessions,
    start_session,
    throttled_message,
)
from serving.app.services import NotFound
from serving.auth import MIN_PASSWORD_LENGTH, csrf_matches, hash_password, verify_password
from serving.i18n import N_, Message
from serving.store import repository

router = APIRouter()
LOGIN_CSRF_COOKIE = "bemanning_login_csrf"


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", tags=["pages"], summary="Login page", response_model=None)
def login_page(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", {"login_csrf": token, "next": _safe_next(next), "error": ""}
    )
    _set_login_csrf(request, response, token)
    return response


def _set_login_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.settings.secure_cookies),
        path="/login",
    )


@router.post("/login", tags=["pages"], summary="Log in (form)", response_model=None)
def login_form(
    request: Request,
    session: SessionDep,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        token = secrets.token_urlsafe(24)
        response = render(
            request,
            "login.html",
            {
                "login_csrf": token,
                "next": _safe_next(next),
                "error": N_("The login form expired; please try again."),
            },
            status_code=403,
        )
        _set_login_csrf(request, response, token)
        return response
    outcome = attempt_login(request, session, name, password)
    if outcome.user is None:
        response = render(
            request,
            "login.html",
            {
                "login_csrf": csrf_token,
                "next": _safe_next(next),
                "name": name,  # typed again, the password only
                "error": throttled_message(outcome.retry_after_s)
                if outcome.throttled
                else BAD_LOGIN,
            },
            status_code=429 if outcome.throttled else 401,
        )
        if outcome.throttled:
            response.headers["Retry-After"] = str(outcome.retry_after_s)
        return response
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    start_session(request, redirect, session, outcome.user)
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return redirect


@router.post("/logout", tags=["pages"], summary="Log out (form)", response_model=None)
def logout_form(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    response = RedirectResponse("/login", status_code=303)
    end_session(request, response, session)
    return response


@router.post(
    "/api/login",
    tags=["auth"],
    summary="Log in; sets the session cookie",
    response_model=LoginResponse,
    responses={
        401: {"description": BAD_LOGIN},
        429: {"description": "Too many failed logins: wait Retry-After seconds."},
    },
)
def api_login(
    request: Request, response: Response, session: SessionDep, body: LoginRequest
) -> LoginResponse | Response:
    outcome = attempt_login(request, session, body.name, body.password)
    if outcome.throttled:
        return JSONResponse(
            {"detail": throttled_message(outcome.retry_after_s)},
            status_code=429,
            headers={"Retry-After": str(outcome.retry_after_s)},
        )
    if outcome.user is None:
        return JSONResponse({"detail": BAD_LOGIN}, status_code=401)
    token = start_session(request, response, session, outcome.user)
    return LoginResponse(user=UserPublic.model_validate(outcome.user), csrf_token=token)


@router.post("/api/logout", tags=["auth"], summary="Log out", status_code=204, response_model=None)
def api_logout(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    response = Response(status_code=204)
    end_session(request, response, session)
    return response


@router.post(
    "/api/password",
    tags=["auth"],
    summary="Change one's own password; ends every other session of the user",
    response_model=LoginResponse,
)
def api_change_password(
    request: Request,
    response: Response,
    session: SessionDep,
    user: CurrentUser,
    body: PasswordChange,
) -> LoginResponse:
    if not verify_password(user.password_hash, body.current_password):
        raise UserInputError(
            Message(N_("The current password is wrong; the password was not changed."))
        )
    if len(body.new_password) < MIN_PASSWORD_LENGTH:
        raise UserInputError(
            Message(
                N_("The new password must be at least %(n)s characters."), n=MIN_PASSWORD_LENGTH
            )
        )
    user.password_hash = hash_password(body.new_password)
    # every session ends, this one too: a thief's copy of any cookie is dead at once
    end_user_sessions(session, user, by=user.name, reason="password changed")
    token = start_session(request, response, session, user)
    return LoginResponse(user=UserPublic.model_validate(user), csrf_token=token)


@router.post(
    "/api/users/{name}/sessions/end",
    tags=["auth"],
    summary="End every session of a user (admins only)",
    response_model=SessionsEnded,
)
def api_end_user_sessions(name: str, session: SessionDep, admin: CurrentAdmin) -> SessionsEnded:
    target = repository.user_by_name(session, name)
    if target is None:
        raise NotFound(Message(N_("No user named %(name)s."), name=repr(name)))
    ended = end_user_sessions(session, target, by=admin.name, reason="ended by an admin")
    return SessionsEnded(user=target.name, ended=ended)


@router.get(
    "/api/me",
    tags=["auth"],
    summary="Who is logged in, and the CSRF token",
    response_model=LoginResponse,
)
def api_me(request: Request, user: CurrentUser) -> LoginResponse:
    return LoginResponse(user=UserPublic.model_validate(user), csrf_token=request.state.csrf_token)
