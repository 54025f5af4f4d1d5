"""The store's connection pool filled at start (serving.store.db.fill_pool): the connections a
burst of requests needs are open before it comes, and stay open between bursts."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import event

from serving.store.db import SQLITE_POOL_SIZE, fill_pool, make_engine, upgrade


def test_the_pool_is_filled_and_a_burst_opens_no_connection(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    upgrade(engine)
    opened: list[int] = []
    event.listen(engine, "connect", lambda *args: opened.append(1))
    assert fill_pool(engine) == SQLITE_POOL_SIZE
    filled = len(opened)
    assert filled >= SQLITE_POOL_SIZE - 1  # upgrade's connection was back in the pool already
    barrier = threading.Barrier(SQLITE_POOL_SIZE)

    def request() -> None:
        with engine.connect() as connection:
            barrier.wait()  # all checked out at once, as in a burst
            connection.exec_driver_sql("select 1")

    threads = [threading.Thread(target=request) for _ in range(SQLITE_POOL_SIZE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(opened) == filled  # the burst used the open connections
    assert engine.pool.checkedin() == SQLITE_POOL_SIZE  # type: ignore[attr-defined]
    engine.dispose()
