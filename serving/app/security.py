"""Logins (throttled, audited, constant-time) and server-side sessions, for the auth routes.

A login attempt first asks the store whether the account name or the client address is in
back-off; if so it is refused with 429 and a Retry-After, without checking the password. A wrong
password counts against both; every refusal and every login is in the audit log. The password
check itself takes the same time for an unknown name as for a wrong password.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import i18n
from serving.auth import (
    DUMMY_HASH,
    SESSION_COOKIE,
    hash_password,
    needs_rehash,
    verify_password,
)
from serving.i18n import N_
from serving.store import login_store, repository
from serving.store.tables import User

BAD_LOGIN = N_("Wrong user name or password.")  # shown through the catalogue


def throttled_message(retry_after_s: int) -> i18n.Message:
    return i18n.Message(
        N_(
            "Too many failed logins for this user name or from this address: try again in "
            "%(seconds)s seconds."
        ),
        seconds=retry_after_s,
    )


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    #: Seconds to wait before trying again (0: not throttled).
    retry_after_s: int = 0

    @property
    def throttled(self) -> bool:
        return self.retry_after_s > 0


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def policy(request: Request) -> login_store.ThrottlePolicy:
    settings = request.app.state.settings
    return login_store.ThrottlePolicy(
        free_failures=settings.login_free_failures,
        base_backoff_s=settings.login_backoff_s,
        max_backoff_s=settings.login_max_backoff_s,
    )


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


def attempt_login(request: Request, session: Session, name: str, password: str) -> LoginOutcome:
    """Check the throttle, then the password; record the outcome (the caller's session commits
    it, also when the answer is a refusal)."""
    address = client_address(request)
    keys = login_store.throttle_keys(name, address)
    wait = login_store.retry_after_s(session, keys)
    if wait > 0:
        _audit(session, name, "login.throttled", address, retry_after_s=wait)
        return LoginOutcome(None, wait)
    user = authenticate(session, name, password)
    if user is None:
        backoff = login_store.record_failure(session, keys, policy(request))
        _audit(session, name, "login.failed", address, retry_after_s=backoff)
        return LoginOutcome(None)
    login_store.record_success(session, keys[0])
    _audit(session, name, "login", address)
    return LoginOutcome(user)


def _audit(session: Session, name: str, action: str, address: str, **after: int) -> None:
    repository.append_audit(
        session,
        user_name=name[:100],
        action=action,
        entity="user",
        entity_id=name[:100],
        after={"address": address, **after},
    )


def start_session(request: Request, response: Response, session: Session, user: User) -> str:
    """Open a server-side session for ``user`` and set its cookie; returns the CSRF token."""
    cookie, data = request.app.state.signer.issue(user.id)
    login_store.open_session(session, user_id=user.id, token=data.token)
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.session_lifetime_s,
        httponly=True,
        samesite="lax",
        secure=bool(settings.secure_cookies),
        path="/",
    )
    return data.csrf_token


def end_session(request: Request, response: Response, session: Session) -> None:
    """Revoke the request's session in the store (a copied cookie is dead too) and clear it."""
    token = getattr(request.state, "session_token", "")
    if token:
        login_store.revoke_session(session, token=token)
    response.delete_cookie(SESSION_COOKIE, path="/")


def end_user_sessions(session: Session, user: User, *, by: str, reason: str) -> int:
    ended = login_store.revoke_user_sessions(session, user_id=user.id)
    repository.append_audit(
        session,
        user_name=by,
        action="user.sessions_ended",
        entity="user",
        entity_id=user.name,
        after={"ended": ended, "reason": reason},
    )
    return ended


# --- response headers ----------------------------------------------------------------------

#: No inline script anywhere (behaviour lives in /static/*.js); styles may be inline (Plotly and
#: htmx write style attributes). Nothing may frame the pages: the approve buttons cannot be
#: clickjacked.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
#: Plans, exports and every page carry district data: no browser or proxy may keep a copy. Only
#: the static files (script, licence) may be cached.
NO_STORE = (b"cache-control", b"no-store")
CACHEABLE_PREFIX = "/static/"
#: Static files: kept by the browser for an hour (then revalidated by ETag), so a page view does
#: not ask again for its script and style sheet.
STATIC_CACHE = (b"cache-control", b"public, max-age=3600")


class SecurityHeaders:
    """Pure ASGI middleware adding the security headers to every HTTP response (errors too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(CACHEABLE_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if b"cache-control" not in present:
                    headers.append(STATIC_CACHE if cacheable else NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
