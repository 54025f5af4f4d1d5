"""Passwords, sessions and CSRF.

- Passwords are hashed with argon2id (argon2-cffi); a hash made with older parameters is
  re-hashed at the next login.
- The session is a signed, timestamped cookie (itsdangerous) holding the user id, a random
  session token and a random CSRF token; it is HttpOnly, SameSite=Lax and Secure outside dev.
  The token names a server-side session in the store (serving/store/login_store.py), so logout,
  an admin ending a user's sessions and a password change end it at once; the store also holds
  the idle and absolute timeouts.
- CSRF uses the synchronizer-token pattern: every form carries the session's token in a hidden
  field ``csrf_token`` and every state-changing API call sends it in the ``X-CSRF-Token`` header;
  a request without the matching token is refused (403). A cross-site page cannot read the token,
  so it cannot forge the request even though the browser sends the cookie.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SESSION_COOKIE = "bemanning_session"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: Shortest password accepted, for ``user add`` and a password change alike.
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("the password is empty")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


#: A hash of a random password: verifying against it when the user name is unknown takes as long
#: as a real check, so login timing does not reveal which user names exist.
DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SessionData:
    user_id: int
    csrf_token: str
    #: The random token naming the server-side session (only its hash is stored).
    token: str = ""


class SessionSigner:
    """Signs and reads the session cookie's value."""

    def __init__(self, secret_key: str, *, max_age_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="bemanning-session")
        self.max_age_s = max_age_s

    def issue(self, user_id: int) -> tuple[str, SessionData]:
        data = SessionData(
            user_id=user_id, csrf_token=secrets.token_urlsafe(32), token=secrets.token_urlsafe(32)
        )
        payload = {"u": data.user_id, "c": data.csrf_token, "s": data.token}
        return self._serializer.dumps(payload), data

    def read(self, cookie: str | None) -> SessionData | None:
        if not cookie:
            return None
        try:
            raw = self._serializer.loads(cookie, max_age=self.max_age_s)
        except (SignatureExpired, BadSignature):
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("u"), int):
            return None
        return SessionData(
            user_id=raw["u"], csrf_token=str(raw.get("c", "")), token=str(raw.get("s", ""))
        )


def csrf_matches(expected: str, sent: str | None) -> bool:
    return bool(expected) and sent is not None and hmac.compare_digest(expected, sent)
