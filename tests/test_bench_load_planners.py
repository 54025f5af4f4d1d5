"""bench_load's planners (benchmarks.load_planners): a record survives the trip back from the
planners' process and merges into the server side's; a redirect to the login page counts as an
error, not as a fast page."""

from __future__ import annotations

import pickle
from typing import Any

from benchmarks.load_planners import Record


class _Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.is_success = 200 <= status_code < 300
        self.text = "see /login"


class _Client:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code

    def request(self, method: str, url: str, **kwargs: Any) -> _Answer:
        return _Answer(self.status_code)


def test_a_record_comes_back_from_another_process_and_merges() -> None:
    planners = Record()
    planners.timed(_Client(200), "overview page", "GET", "/")
    planners.timed(_Client(200), "overview page", "GET", "/")
    planners.pins.append(("plan-1", 3))
    back = pickle.loads(pickle.dumps(planners))
    assert back.latencies_s["overview page"] == planners.latencies_s["overview page"]
    server_side = Record()
    server_side.timed(_Client(200), "/health (peer)", "GET", "/health")
    server_side.merge(back)
    assert len(server_side.latencies_s["overview page"]) == 2
    assert len(server_side.starts["overview page"]) == 2
    assert server_side.pins == [("plan-1", 3)] and not server_side.errors
    back.timed(_Client(200), "plan page", "GET", "/plans/x")  # its lock works after the trip
    assert len(back.latencies_s["plan page"]) == 1


def test_a_redirect_is_an_error() -> None:
    record = Record()
    record.timed(_Client(303), "overview page", "GET", "/")
    record.timed(_Client(404), "plan page", "GET", "/plans/x")
    assert [e.split(":")[0] for e in record.errors] == ["overview page", "plan page"]
