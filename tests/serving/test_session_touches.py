"""Session touches written in batches off the request (serving.store.login_store.SessionTouches):
many requests at once write nothing themselves, one flush writes every session's last-seen
time, the idle timeout still counts from it, and a revoked session still ends at once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, update

from serving.store import login_store, repository
from serving.store.db import make_engine, session_factory, upgrade
from serving.store.tables import LoginSession, utc_now

N = 30


def test_touches_of_many_requests_are_one_write(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        ids = []
        for i in range(N):
            user = repository.create_user(
                session, name=f"p{i}", password_hash="x", role="planner", district="A"
            )
            session.flush()
            login_store.open_session(session, user_id=user.id, token=f"token-{i}")
            ids.append(user.id)
        seen_long_ago = utc_now() - timedelta(seconds=600)
        session.execute(update(LoginSession).values(last_seen_at=seen_long_ago))
    commits: list[int] = []
    event.listen(engine, "commit", lambda connection: commits.append(1))
    touches = login_store.SessionTouches(sessions, delay_s=3600)  # flushed by the test only
    answers: list[bool] = []

    def check(i: int) -> None:
        with sessions() as session:
            alive = login_store.check_session(
                session,
                token=f"token-{i}",
                user_id=ids[i],
                idle_s=3600,
                lifetime_s=8 * 3600,
                touch=touches.touch,
            )
            session.rollback()  # a read: whatever the request does, it wrote nothing
        answers.append(alive)

    threads = [threading.Thread(target=check, args=(i,)) for i in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [True] * N
    assert commits == []  # no request wrote its touch
    with sessions() as session:
        stale = session.query(LoginSession).filter(LoginSession.last_seen_at < utc_now()).all()
        assert all(
            login_store._aware(row.last_seen_at) <= seen_long_ago + timedelta(seconds=1)
            for row in stale
        )
    assert touches.flush() == N
    assert len(commits) == 1  # one transaction for every session
    with sessions() as session:
        recent = utc_now() - timedelta(seconds=60)
        rows = session.query(LoginSession).all()
        assert len(rows) == N
        assert all(login_store._aware(row.last_seen_at) > recent for row in rows)
    assert touches.flush() == 0
    touches.close()
    engine.dispose()


def test_a_touch_lands_soon_and_a_revoked_session_ends_at_once(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        user = repository.create_user(
            session, name="anna", password_hash="x", role="planner", district="A"
        )
        session.flush()
        login_store.open_session(session, user_id=user.id, token="anna-token")
        session.execute(
            update(LoginSession).values(last_seen_at=utc_now() - timedelta(seconds=600))
        )
        user_id = user.id
    touches = login_store.SessionTouches(sessions, delay_s=0.05)
    landed = threading.Event()

    def check() -> bool:
        with sessions() as session:
            return login_store.check_session(
                session,
                token="anna-token",
                user_id=user_id,
                idle_s=3600,
                lifetime_s=8 * 3600,
                touch=touches.touch,
            )

    assert check()
    for _ in range(100):  # the background thread writes it within a few of its rounds
        with sessions() as session:
            row = session.get(LoginSession, login_store.token_digest("anna-token"))
            assert row is not None
            if login_store._aware(row.last_seen_at) > utc_now() - timedelta(seconds=60):
                landed.set()
                break
        threading.Event().wait(0.05)
    assert landed.is_set()
    with sessions.begin() as session:
        assert login_store.revoke_session(session, token="anna-token")
    assert not check()  # the store is read on every request: revoked means ended
    touches.close()
    engine.dispose()
