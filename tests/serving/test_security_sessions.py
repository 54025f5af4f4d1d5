"""Server-side sessions (logout, an admin ending a user's sessions, a password change, idle and
absolute timeouts) and login throttling (per account, per address, 429 + Retry-After, audited)."""

from __future__ import annotations

import time

from app_fixtures import PASSWORD, AppHarness, login
from fastapi.testclient import TestClient

from serving.auth import SESSION_COOKIE
from serving.store import repository


def _client(harness: AppHarness, address: str = "testclient") -> TestClient:
    return TestClient(harness.app, follow_redirects=False, client=(address, 50000))


def _replay(harness: AppHarness, cookie: str) -> TestClient:
    """A second client holding a copy of someone's session cookie, as a thief would."""
    thief = _client(harness, "10.9.9.9")
    thief.cookies.set(SESSION_COOKIE, cookie)
    return thief


def test_logout_ends_the_session_for_every_copy_of_the_cookie(harness: AppHarness) -> None:
    anna = harness.client_for("anna")
    cookie = anna.cookies[SESSION_COOKIE]
    token = anna.headers["X-CSRF-Token"]
    assert _replay(harness, cookie).get("/api/me").status_code == 200
    assert anna.post("/api/logout").status_code == 204
    thief = _replay(harness, cookie)
    assert thief.get("/api/me").status_code == 401
    assert thief.get("/", headers={"accept": "text/html"}).status_code == 303  # to /login
    refused = thief.post("/api/plans/x/approve", json={}, headers={"X-CSRF-Token": token})
    assert refused.status_code == 401


def test_form_logout_ends_the_session_too(harness: AppHarness) -> None:
    anna = harness.client_for("anna")
    cookie = anna.cookies[SESSION_COOKIE]
    csrf = anna.headers["X-CSRF-Token"]
    assert anna.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert _replay(harness, cookie).get("/api/me").status_code == 401


def test_an_admin_ends_every_session_of_a_user(harness: AppHarness) -> None:
    first, second = harness.client_for("anna"), harness.client_for("anna")
    bo = harness.client_for("bo")
    planner_try = bo.post("/api/users/anna/sessions/end")
    assert planner_try.status_code == 403
    admin = harness.client_for("admin")
    ended = admin.post("/api/users/anna/sessions/end")
    assert ended.status_code == 200 and ended.json() == {"user": "anna", "ended": 2}
    assert first.get("/api/me").status_code == 401
    assert second.get("/api/me").status_code == 401
    assert bo.get("/api/me").status_code == 200  # others keep theirs
    assert admin.post("/api/users/nobody/sessions/end").status_code == 404
    with harness.sessions() as session:
        actions = [e.action for e in repository.audit_events(session)]
    assert "user.sessions_ended" in actions


def test_a_password_change_ends_every_other_session_at_once(harness: AppHarness) -> None:
    changer, other = harness.client_for("anna"), harness.client_for("anna")
    old_cookie = changer.cookies[SESSION_COOKIE]
    wrong = changer.post(
        "/api/password", json={"current_password": "nope", "new_password": "x" * 12}
    )
    assert wrong.status_code == 400 and other.get("/api/me").status_code == 200
    short = changer.post(
        "/api/password", json={"current_password": PASSWORD, "new_password": "short"}
    )
    assert short.status_code == 400
    new_password = "a much better passphrase"
    changed = changer.post(
        "/api/password", json={"current_password": PASSWORD, "new_password": new_password}
    )
    assert changed.status_code == 200, changed.text
    assert other.get("/api/me").status_code == 401
    assert _replay(harness, old_cookie).get("/api/me").status_code == 401
    changer.headers["X-CSRF-Token"] = changed.json()["csrf_token"]
    assert changer.get("/api/me").status_code == 200  # the changer goes on with a new session
    fresh = _client(harness)
    assert fresh.post("/api/login", json={"name": "anna", "password": PASSWORD}).status_code == 401
    login(fresh, "anna", new_password)


def test_idle_and_absolute_timeouts_end_sessions(harness: AppHarness) -> None:
    settings = harness.app.state.settings
    anna = harness.client_for("anna")
    settings.session_idle_s = 1
    assert anna.get("/api/me").status_code == 200
    time.sleep(1.3)
    assert anna.get("/api/me").status_code == 401  # idle too long
    settings.session_idle_s = 3600
    bo = harness.client_for("bo")
    settings.session_lifetime_s = 1
    time.sleep(0.6)
    assert bo.get("/api/me").status_code == 200  # active, but …
    time.sleep(0.6)
    assert bo.get("/api/me").status_code == 401  # … older than the absolute lifetime


def test_failed_logins_per_account_back_off_with_429_and_retry_after(harness: AppHarness) -> None:
    harness.app.state.settings.login_backoff_s = 1.0
    free = harness.app.state.settings.login_free_failures
    # each attempt from another address: only the account's count can block
    for attempt in range(free):
        answer = _client(harness, f"10.0.0.{attempt}").post(
            "/api/login", json={"name": "anna", "password": "wrong"}
        )
        assert answer.status_code == 401
    blocked = _client(harness, "10.0.1.1").post(
        "/api/login", json={"name": "anna", "password": PASSWORD}
    )
    assert blocked.status_code == 429  # even the right password waits: it is not checked
    assert int(blocked.headers["Retry-After"]) >= 1
    assert "try again in" in blocked.json()["detail"]
    # another account from the same addresses is not affected
    login(_client(harness, "10.0.0.0"), "bo")
    time.sleep(float(blocked.headers["Retry-After"]) + 0.2)
    login(_client(harness, "10.0.1.1"), "anna")  # after the back-off, and the count is cleared
    assert (
        _client(harness, "10.0.2.1")
        .post("/api/login", json={"name": "anna", "password": "wrong"})
        .status_code
        == 401
    )
    with harness.sessions() as session:
        actions = [e.action for e in repository.audit_events(session)]
    assert actions.count("login.failed") == free + 1
    assert "login.throttled" in actions and "login" in actions


def test_failed_logins_per_address_back_off_whatever_the_name(harness: AppHarness) -> None:
    harness.app.state.settings.login_backoff_s = 60.0
    free = harness.app.state.settings.login_free_failures
    for attempt in range(free):
        answer = _client(harness, "10.5.5.5").post(
            "/api/login", json={"name": f"guess{attempt}", "password": "wrong"}
        )
        assert answer.status_code == 401
    blocked = _client(harness, "10.5.5.5").post(
        "/api/login", json={"name": "bo", "password": PASSWORD}
    )
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    login(_client(harness, "10.6.6.6"), "bo")  # bo from elsewhere is fine
    form = _client(harness, "10.5.5.5")
    page = form.get("/login")
    token = form.cookies["bemanning_login_csrf"]
    answer = form.post(
        "/login", data={"name": "bo", "password": PASSWORD, "csrf_token": token, "next": "/"}
    )
    assert answer.status_code == 429 and "Retry-After" in answer.headers
    assert page.status_code == 200


def test_the_password_check_takes_as_long_for_an_unknown_name(
    harness: AppHarness, monkeypatch: object
) -> None:
    import serving.app.security as security
    from serving.auth import DUMMY_HASH

    checked: list[str] = []
    real = security.verify_password

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(security, "verify_password", counting)  # type: ignore[attr-defined]
    client = _client(harness, "10.7.7.7")
    client.post("/api/login", json={"name": "no-such-user", "password": "x"})
    client.post("/api/login", json={"name": "anna", "password": "x"})
    assert checked[0] == DUMMY_HASH and checked[1] != DUMMY_HASH and len(checked) == 2
