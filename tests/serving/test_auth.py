"""Passwords, session cookies, CSRF tokens and the settings' refusal of weak secrets."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from serving.app.settings import Settings
from serving.auth import SessionSigner, csrf_matches, hash_password, verify_password

#: A fixed random-looking key (the settings refuse low-entropy ones).
SECRET = "kQ3v9ZpX2mL7wR8tYc4bN1hJ6fD0sGaE"


def test_passwords_are_hashed_with_argon2id_and_verified() -> None:
    hashed = hash_password("hemmelig passord")
    assert hashed.startswith("$argon2id$") and "hemmelig" not in hashed
    assert verify_password(hashed, "hemmelig passord")
    assert not verify_password(hashed, "Hemmelig passord")
    assert not verify_password("not a hash", "x")
    assert hash_password("same") != hash_password("same")  # salted
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


def test_session_cookie_round_trips_and_refuses_tampering_other_keys_and_age() -> None:
    signer = SessionSigner(SECRET, max_age_s=3600)
    cookie, data = signer.issue(42)
    assert signer.read(cookie) == data and data.user_id == 42 and len(data.csrf_token) >= 32
    assert signer.read(cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]) is None
    assert SessionSigner("t" * 40, max_age_s=3600).read(cookie) is None
    assert signer.read(None) is None and signer.read("") is None
    expired = SessionSigner(SECRET, max_age_s=1)
    cookie, _ = expired.issue(1)
    time.sleep(2.1)
    assert expired.read(cookie) is None


def test_csrf_tokens_must_match_exactly() -> None:
    assert csrf_matches("abc", "abc")
    assert not csrf_matches("abc", "abd") and not csrf_matches("abc", None)
    assert not csrf_matches("", "")  # no session token: nothing matches


@pytest.mark.parametrize(
    "secret", ["", "changethis", "short-secret", "a" * 32, "ab" * 20, "0123456789" * 4]
)
def test_settings_refuse_a_weak_secret_outside_dev(secret: str) -> None:
    with pytest.raises(ValidationError, match="BEMANNING_SECRET_KEY"):
        Settings(secret_key=secret, dev=False)


def test_settings_read_the_environment_and_dev_gets_a_random_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1/db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///m.db")
    monkeypatch.setenv("BEMANNING_SESSION_LIFETIME_S", "60")
    monkeypatch.setenv("BEMANNING_SECRET_KEY", SECRET)
    settings = Settings()
    assert settings.database_url == "postgresql://u:p@127.0.0.1/db"
    assert settings.tracking_uri == "sqlite:///m.db" and settings.session_lifetime_s == 60
    monkeypatch.delenv("BEMANNING_SECRET_KEY")
    one, two = Settings(dev=True), Settings(dev=True)
    assert len(one.secret_key.get_secret_value()) >= 32
    assert one.secret_key.get_secret_value() != two.secret_key.get_secret_value()


def test_settings_accept_random_secrets_of_the_usual_shapes() -> None:
    import secrets

    for secret in (secrets.token_urlsafe(32), secrets.token_hex(32), secrets.token_hex(16)):
        assert Settings(secret_key=secret, dev=False).secret_key.get_secret_value() == secret


def test_dev_mode_comes_only_from_the_command_line_and_secure_cookies_outside_dev(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BEMANNING_DEV", "true")
    monkeypatch.delenv("BEMANNING_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="BEMANNING_SECRET_KEY"):
        Settings()  # the variable does not turn dev mode on (and so no throwaway secret)
    monkeypatch.setenv("BEMANNING_SECRET_KEY", SECRET)
    settings = Settings()
    assert settings.dev is False and settings.secure_cookies is True
    dev = Settings(dev=True)
    assert dev.dev is True and dev.secure_cookies is False
    assert Settings(secure_cookies=False).secure_cookies is False
