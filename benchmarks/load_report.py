"""What bench_load prints after the run: percentiles, the slowest 5 % of each page by the
server's own clock (kept page served or built, when in the run), the server's full garbage
collections, every request's timing as CSV, and the check that nothing a planner was told was
saved got lost."""

from __future__ import annotations

import csv
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from serving.store import repository
from serving.store.tables import Approval


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def page_of(method: str, path: str) -> str:
    """The benchmark's name of a page request (as in :meth:`Record.timed`), else ""."""
    if method != "GET":
        return ""
    if path == "/":
        return "overview page"
    if path.startswith("/kindergartens/"):
        return "kindergarten page"
    if path.startswith("/plans/") and path.count("/") == 2:
        return "plan page"
    return ""


def tail_report(
    timings: list[Any], since: float, gc_pauses: list[tuple[float, float]]
) -> list[str]:
    """What the slowest 5 % of each page's requests did, by the server's own clock: whether
    their page was kept or built, how long building took, how long the server held them and
    when in the run they came; and the interpreter's full garbage collections."""
    lines = []
    by_page: dict[str, list[Any]] = defaultdict(list)
    for row in timings:
        page = page_of(row.method, row.path)
        if page and row.start >= since:
            by_page[page].append(row)
    for page, rows in sorted(by_page.items()):
        built = [r.build_s for r in rows if r.page == "miss"]
        cut = percentile([r.seconds for r in rows], 0.95)
        tail = [r for r in rows if r.seconds >= cut]
        outcomes = Counter(r.page or "not kept" for r in tail)
        first_10s = sum(r.start - since < 10.0 for r in tail)
        lines.append(
            f"{page}: {len(rows)} served, {len(built)} built"
            + (
                f" (build p50 {1000 * statistics.median(built):.0f} ms, max "
                f"{1000 * max(built):.0f} ms)"
                if built
                else ""
            )
            + f"; slowest 5 % (≥ {1000 * cut:.0f} ms server-side, n={len(tail)}): "
            + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))
            + f", {first_10s} of them in the run's first 10 s"
        )
    if gc_pauses:
        lines.append(
            f"full garbage collections during the run: {len(gc_pauses)}, "
            f"{sum(p for _, p in gc_pauses):.2f} s in all: "
            + ", ".join(f"{1000 * p:.0f} ms at {at - since:+.1f} s" for at, p in gc_pauses)
        )
    return lines


def write_request_log(path: Path, timings: list[Any], since: float) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["start_s", "method", "path", "status", "ms", "page", "build_ms"])
        for row in sorted(timings, key=lambda r: r.start):
            out.writerow(
                [
                    f"{row.start - since:.3f}",
                    row.method,
                    row.path,
                    row.status,
                    f"{1000 * row.seconds:.1f}",
                    row.page,
                    f"{1000 * row.build_s:.1f}",
                ]
            )


class FullCollections:
    """Durations of the interpreter's oldest-generation garbage collections while running."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float]] = []  # (when it started, seconds)
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((self._started, time.perf_counter() - self._started))


def check_nothing_lost(sessions: Any, record: Any) -> list[str]:
    """What a planner got a 2xx for and the store does not hold (``record``:
    benchmarks.load_planners.Record)."""
    missing: list[str] = []
    with sessions() as session:
        for plan_id, line_id in record.pins:
            events = [
                e
                for e in repository.audit_events(session, plan_ids=[plan_id])
                if e.action.startswith("pin.") and e.entity_id == str(line_id)
            ]
            if len(events) != 1:
                missing.append(f"pin on {plan_id}/{line_id}: {len(events)} audit events")
        approvals = session.query(Approval).all()
        by_line = {(a.plan_id, a.line_id) for a in approvals}
        by_plan = {a.plan_id for a in approvals if a.line_id is None}
        for key in record.line_approvals:
            if key not in by_line:
                missing.append(f"line approval {key} not stored")
        for plan_id in record.plan_approvals:
            plan = repository.get_plan(session, plan_id)
            if plan_id not in by_plan or plan is None or plan.status == "draft":
                missing.append(f"plan approval {plan_id} not stored")
        standing = Counter(
            p.district for p in repository.list_plans(session) if p.status == "approved"
        )
        for district, count in standing.items():
            if count != 1:
                missing.append(f"{count} approved plans stand for {district} and one period")
    return missing
