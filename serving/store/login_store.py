"""Login sessions and login throttling in the store.

Sessions: the cookie carries a random token; the store keeps its SHA-256 and the times it was
created, last seen and revoked. A session is valid while it is not revoked, younger than the
absolute lifetime and seen within the idle timeout — so logout, an admin ending a user's sessions
and a password change take effect on the very next request.

Throttling: failed logins are counted per account name and per client address. After
``free_failures`` failures in a row the key is blocked for a back-off that doubles with every
further failure (capped); a blocked key is answered 429 without checking the password. A success
clears the account's count; an address's count fades once its last failure is older than the
window.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from serving.store.tables import LoginSession, LoginThrottle, utc_now

log = logging.getLogger(__name__)

#: A session's ``last_seen_at`` is written at most this often, s — not on every request, which
#: would make every page view a write.
TOUCH_EVERY_S = 60.0


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utc_now().tzinfo)


# --- sessions --------------------------------------------------------------------------------


def open_session(session: Session, *, user_id: int, token: str) -> LoginSession:
    now = utc_now()
    row = LoginSession(id=token_digest(token), user_id=user_id, created_at=now, last_seen_at=now)
    session.add(row)
    session.flush()
    return row


def check_session(
    session: Session,
    *,
    token: str,
    user_id: int,
    idle_s: float,
    lifetime_s: float,
    touch: Callable[[str, datetime], None] | None = None,
) -> bool:
    """Whether the session is still valid; touches ``last_seen_at`` (now and then) when it is —
    written here, or handed to ``touch`` (:meth:`SessionTouches.touch`) to be written later."""
    row = session.get(LoginSession, token_digest(token))
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return False
    now = utc_now()
    if now - _aware(row.created_at) > timedelta(seconds=lifetime_s):
        return False
    idle = now - _aware(row.last_seen_at)
    if idle > timedelta(seconds=idle_s):
        return False
    if idle > timedelta(seconds=min(TOUCH_EVERY_S, idle_s / 2)):
        if touch is not None:
            touch(row.id, now)
            return True
        # the touch is a write transaction of its own that starts with the write: turning this
        # read into a write would fail at once on SQLite ("database is locked") when another
        # request wrote since the read began, where a transaction that starts by writing waits
        # for the lock
        session.commit()
        session.execute(
            update(LoginSession)
            .where(LoginSession.id == row.id, LoginSession.last_seen_at < now)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return True


class SessionTouches:
    """Sessions' ``last_seen_at`` written by a background thread, one transaction per batch,
    instead of by the requests that saw them: 50 requests touching their sessions at once each
    waited for SQLite's write lock in turn (0.9 s for the last of them on the 2-core machine,
    2026-12-07), where a batch is one write. A touch lands at most ``delay_s`` late — far inside
    any idle timeout — and every request still reads its session from the store, so a logout
    or a revoked session ends at once."""

    def __init__(self, sessions: sessionmaker[Session], delay_s: float = 0.25) -> None:
        self._sessions = sessions
        self.delay_s = delay_s
        self._pending: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def touch(self, session_id: str, when: datetime) -> None:
        with self._lock:
            self._pending[session_id] = max(when, self._pending.get(session_id, when))
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="session-touches", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.delay_s):
            self.flush()

    def flush(self) -> int:
        """Write the touches waiting (one transaction); returns how many sessions."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            with self._sessions.begin() as session:
                for session_id, when in pending.items():
                    session.execute(
                        update(LoginSession)
                        .where(LoginSession.id == session_id, LoginSession.last_seen_at < when)
                        .values(last_seen_at=when)
                        .execution_options(synchronize_session=False)
                    )
        except Exception:  # the store is busy or away: try again with the next batch
            log.warning("session touches not written; retried with the next batch", exc_info=True)
            with self._lock:
                for session_id, when in pending.items():
                    self._pending[session_id] = max(when, self._pending.get(session_id, when))
            return 0
        return len(pending)

    def close(self) -> None:
        """Stop the thread and write what waits (the app shuts down)."""
        self._stop.set()
        self.flush()


def revoke_session(session: Session, *, token: str) -> bool:
    row = session.get(LoginSession, token_digest(token))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utc_now()
    return True


def revoke_user_sessions(session: Session, *, user_id: int, keep_token: str | None = None) -> int:
    """End every open session of a user (but ``keep_token``'s); returns how many ended."""
    query = (
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utc_now())
    )
    if keep_token is not None:
        query = query.where(LoginSession.id != token_digest(keep_token))
    result = session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


def open_session_count(session: Session, *, user_id: int) -> int:
    rows = session.scalars(
        select(LoginSession.id).where(
            LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None)
        )
    )
    return len(list(rows))


# --- throttling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 5
    base_backoff_s: float = 2.0
    max_backoff_s: float = 900.0
    window_s: float = 900.0

    def backoff_s(self, failures: int) -> float:
        extra = failures - self.free_failures
        if extra < 0:
            return 0.0
        return min(self.max_backoff_s, self.base_backoff_s * 2.0 ** min(extra, 30))


def throttle_keys(name: str, address: str) -> tuple[str, str]:
    return f"account:{name[:200]}", f"address:{address[:90]}"


def retry_after_s(session: Session, keys: tuple[str, ...]) -> int:
    """Seconds until every key may try again (0: not blocked)."""
    now = utc_now()
    wait = 0.0
    for row in session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))):
        if row.blocked_until is not None:
            wait = max(wait, (_aware(row.blocked_until) - now).total_seconds())
    return math.ceil(wait) if wait > 0 else 0


def record_failure(session: Session, keys: tuple[str, ...], policy: ThrottlePolicy) -> int:
    """Count a failed login against every key; returns the back-off now in force, s."""
    now = utc_now()
    longest = 0.0
    for key in keys:
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, last_failure_at=now)
            session.add(row)
        elif now - _aware(row.last_failure_at) > timedelta(seconds=policy.window_s):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        backoff = policy.backoff_s(row.failures)
        row.blocked_until = now + timedelta(seconds=backoff) if backoff > 0 else None
        longest = max(longest, backoff)
    session.flush()
    return math.ceil(longest)


def record_success(session: Session, account_key: str) -> None:
    row = session.get(LoginThrottle, account_key)
    if row is not None:
        session.delete(row)
