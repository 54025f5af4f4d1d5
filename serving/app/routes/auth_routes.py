"""Log in and out: a form for the pages, JSON for the API. The login form is protected by a
double-submit token (a cookie and a hidden field that must match), every later form by the
session's own CSRF token."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from serving.app.deps import CurrentUser, SessionDep
from serving.app.routes.common import render
from serving.app.schemas import LoginRequest, LoginResponse, UserPublic
from serving.auth import (
    DUMMY_HASH,
    SESSION_COOKIE,
    csrf_matches,
    hash_password,
    needs_rehash,
    verify_password,
)
from serving.i18n import N_
from serving.store import repository
from serving.store.tables import User

router = APIRouter()
LOGIN_CSRF_COOKIE = "bemanning_login_csrf"
BAD_LOGIN = N_("Wrong user name or password.")


def authenticate(session: Session, name: str, password: str) -> User | None:
    user = repository.user_by_name(session, name)
    if user is None:
        verify_password(DUMMY_HASH, password)  # same time as a real check
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _start_session(request: Request, response: Response, user: User) -> str:
    cookie, data = request.app.state.signer.issue(user.id)
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.session_lifetime_s,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return data.csrf_token


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
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", path="/login")
    return response


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
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", path="/login")
        return response
    user = authenticate(session, name, password)
    if user is None:
        response = render(
            request,
            "login.html",
            {"login_csrf": csrf_token, "next": _safe_next(next), "error": BAD_LOGIN},
            status_code=401,
        )
        return response
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    _start_session(request, redirect, user)
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return redirect


@router.post("/logout", tags=["pages"], summary="Log out (form)", response_model=None)
def logout_form(user: CurrentUser) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post(
    "/api/login",
    tags=["auth"],
    summary="Log in; sets the session cookie",
    response_model=LoginResponse,
    responses={401: {"description": BAD_LOGIN}},
)
def api_login(
    request: Request, response: Response, session: SessionDep, body: LoginRequest
) -> LoginResponse | Response:
    user = authenticate(session, body.name, body.password)
    if user is None:
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": BAD_LOGIN}, status_code=401)
    token = _start_session(request, response, user)
    return LoginResponse(user=UserPublic.model_validate(user), csrf_token=token)


@router.post("/api/logout", tags=["auth"], summary="Log out", status_code=204, response_model=None)
def api_logout(user: CurrentUser, response: Response) -> Response:
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(
    "/api/me",
    tags=["auth"],
    summary="Who is logged in, and the CSRF token",
    response_model=LoginResponse,
)
def api_me(request: Request, user: CurrentUser) -> LoginResponse:
    return LoginResponse(user=UserPublic.model_validate(user), csrf_token=request.state.csrf_token)
