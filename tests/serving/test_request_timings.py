"""Per-request timings (serving.app.timing.RequestTimings): every request's path, status and
server-side time, and whether its page was kept or built — what the load benchmark reads its
tail from."""

from __future__ import annotations

from app_fixtures import AppHarness

from serving.app.timing import RequestTiming, RequestTimings


def test_each_request_says_whether_its_page_was_kept_or_built(
    trained_harness: AppHarness,
) -> None:
    rows: list[RequestTiming] = []
    trained_harness.app.add_middleware(RequestTimings, rows=rows)  # before the first request
    anna = trained_harness.client_for("anna")
    assert anna.get("/").status_code == 200
    assert anna.get("/").status_code == 200
    assert anna.get("/no-such-page").status_code == 404
    overview = [r for r in rows if r.path == "/"]
    assert [r.page for r in overview] == ["miss", "hit"]
    built, kept = overview
    assert built.build_s > 0 and kept.build_s == 0
    assert all(r.status == 200 and r.seconds > 0 for r in overview)
    assert built.seconds >= built.build_s
    login = [r for r in rows if r.path == "/api/login"]
    assert len(login) == 1 and login[0].method == "POST" and login[0].page == ""
    assert [r.status for r in rows if r.path == "/no-such-page"] == [404]
