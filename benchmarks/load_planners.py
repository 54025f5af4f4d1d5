"""The planners of bench_load: each a thread with its own httpx client and logged-in session,
browsing and (the first few) pinning, re-solving and approving. :func:`run_planners` runs them
all, by default in a process of its own (:func:`run_planners_apart`): real planners' browsers do
not share the server's interpreter, and 50 httpx clients in the server's process took half of
its interpreter's time once the pages were kept (py-spy, 2026-12-07), so the figures measured
the load generator as much as the server."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

PASSWORD = "load-test-password-1"
POOLS = {"staff": 8.0, "pedagogue": 4.0, "resource_pedagogue": 5.0}


@dataclass
class Record:
    latencies_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: when each timed request started (``time.perf_counter()``: one clock for every process
    #: of the machine), in the order of latencies_s
    starts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    pins: list[tuple[str, int]] = field(default_factory=list)
    line_approvals: list[tuple[str, int]] = field(default_factory=list)
    plan_approvals: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, client: Any, page: str, method: str, url: str, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            response = client.request(method, url, **kwargs)
        except Exception as exc:  # a dropped connection is an error to count, not to hide
            with self.lock:
                self.errors.append(f"{page}: {type(exc).__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - start
        with self.lock:
            self.latencies_s[page].append(elapsed)
            self.starts[page].append(start)
            if not response.is_success:  # a redirect to the login page is an error too
                self.errors.append(f"{page}: HTTP {response.status_code} {response.text[:160]}")
        return response

    def merge(self, other: Record) -> None:
        """Add ``other``'s requests and outcomes to this record."""
        with self.lock:
            for page, values in other.latencies_s.items():
                self.latencies_s[page] += values
                self.starts[page] += other.starts[page]
            self.errors += other.errors
            self.pins += other.pins
            self.line_approvals += other.line_approvals
            self.plan_approvals += other.plan_approvals

    def __getstate__(self) -> dict[str, Any]:  # sent back from the planners' process
        state = {k: v for k, v in self.__dict__.items() if k != "lock"}
        state["latencies_s"], state["starts"] = dict(self.latencies_s), dict(self.starts)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.latencies_s = defaultdict(list, state["latencies_s"])
        self.starts = defaultdict(list, state["starts"])
        self.lock = threading.Lock()


@dataclass(frozen=True)
class Planner:
    """One planner's part of the run: a logged-in session (its cookies and CSRF token), the
    district plan to look at, the district's kindergartens, and whether it also writes."""

    name: str
    cookies: dict[str, str]
    csrf_token: str
    plan: dict[str, Any]
    kindergartens: list[str]
    write: bool
    seed: int


def login(name: str, url: str, record: Record) -> Any:
    """A logged-in client for ``name`` (before the timed phase), or None."""
    import httpx

    client = httpx.Client(base_url=url, timeout=300.0)
    answer = record.timed(
        client,
        "login (untimed phase)",
        "POST",
        "/api/login",
        json={"name": name, "password": PASSWORD},
    )
    if answer is None or answer.status_code != 200:
        client.close()
        return None
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def _browse(
    planner: Planner,
    client: Any,
    rounds: int,
    deadline: float,
    record: Record,
    think_s: float,
) -> None:
    rng = random.Random(planner.seed)
    plan = planner.plan

    def think() -> None:  # a planner reads a page before opening the next
        if think_s > 0:
            time.sleep(rng.uniform(0.5 * think_s, 1.5 * think_s))

    for _ in range(rounds):
        if time.monotonic() > deadline:
            break
        record.timed(client, "overview page", "GET", "/")
        think()
        kindergarten = rng.choice(planner.kindergartens)
        record.timed(client, "kindergarten page", "GET", f"/kindergartens/{kindergarten}")
        think()
        record.timed(client, "plan page", "GET", f"/plans/{plan['id']}")
        think()
    if planner.write:
        _write(planner, client, rng, record)


def _write(planner: Planner, client: Any, rng: random.Random, record: Record) -> None:
    """Pin one line → re-solve with the pin → approve one line of the new version → approve it."""
    plan = planner.plan
    line = rng.choice(plan["lines"])
    pinned = record.timed(
        client,
        "pin line (API)",
        "POST",
        f"/api/plans/{plan['id']}/lines/{line['id']}/pins",
        json={
            "kind": "floor",
            "value_fte": max(line["change_fte"], 0.0),
            "comment": f"{planner.name} knows better",
            "row_version": line["row_version"],
        },
    )
    if pinned is None or pinned.status_code != 200:
        return
    with record.lock:
        record.pins.append((plan["id"], line["id"]))
    resolved = record.timed(client, "re-solve (API)", "POST", f"/api/plans/{plan['id']}/resolve")
    if resolved is None or resolved.status_code != 201:
        return
    new = resolved.json()
    record.timed(client, "plan page", "GET", f"/plans/{new['id']}")
    first = new["lines"][0]
    approved = record.timed(
        client,
        "approve line (API)",
        "POST",
        f"/api/plans/{new['id']}/lines/{first['id']}/approve",
        json={"row_version": first["row_version"]},
    )
    if approved is not None and approved.status_code == 200:
        with record.lock:
            record.line_approvals.append((new["id"], first["id"]))
    done = record.timed(
        client,
        "approve plan (API)",
        "POST",
        f"/api/plans/{new['id']}/approve",
        json={
            "comment": "load run",
            "revision": _plan_revision(client, new["id"], record),
            # planners of one district plan the same period: each approval supersedes the one
            # standing, so exactly one approved plan per district remains at the end
            "supersede": True,
            "reason": f"load run: {planner.name}'s plan replaces the standing one",
        },
    )
    if done is not None and done.status_code == 200:
        with record.lock:
            record.plan_approvals.append(new["id"])


def _plan_revision(client: Any, plan_id: str, record: Record) -> int:
    """The plan's revision as the planner sees it just before approving it."""
    seen = record.timed(client, "plan (API)", "GET", f"/api/plans/{plan_id}")
    return int(seen.json().get("revision", 1)) if seen is not None and seen.is_success else 1


@dataclass(frozen=True)
class Outcome:
    record: Record
    #: ``time.perf_counter()`` when the planners started, and how long until the last ended
    started: float
    wall_s: float


def run_planners(
    url: str, planners: list[Planner], rounds: int, time_limit_s: float, think_s: float
) -> Outcome:
    """Every planner at once, each in a thread with its own client; bounded by ``rounds`` and
    the time limit (no new round after it)."""
    import httpx

    record = Record()
    clients = [
        httpx.Client(
            base_url=url,
            timeout=300.0,
            cookies=p.cookies,
            headers={"X-CSRF-Token": p.csrf_token},
        )
        for p in planners
    ]
    deadline = time.monotonic() + time_limit_s
    threads = [
        threading.Thread(target=_browse, args=(p, c, rounds, deadline, record, think_s))
        for p, c in zip(planners, clients, strict=True)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    for client in clients:
        client.close()
    return Outcome(record, started, wall)


def run_planners_apart(
    url: str, planners: list[Planner], rounds: int, time_limit_s: float, think_s: float
) -> Outcome:
    """:func:`run_planners` in a fresh process (spawned: nothing of the server's state)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_planners, url, planners, rounds, time_limit_s, think_s).result()
