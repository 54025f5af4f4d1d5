"""Load run of the planners' app: 50 concurrent planners on the city preset, on loopback.

Run as ``python -m benchmarks.bench_load [--preset city] [--planners 50] [--rounds 8]
[--writers 10] [--time-limit-s 300] [--tracking-uri URI]``. It simulates the preset (SIMULATED
data; city ≈ 700 kindergartens over Oslo's 15 districts), trains a small champion into a
temporary MLflow store (or uses ``--tracking-uri``'s champion), starts the app with uvicorn on
127.0.0.1 in this process on a temporary SQLite store, and spreads the planners over the
districts. Before the timed phase every planner logs in (password hashing is deliberately slow:
50 logins on 2 cores are not page load), the cold start runs as ``serve`` runs it (forecasts,
drivers and overview, then every kindergarten page prepared in ``--page-workers`` background
processes, serving.app.prepared) and one plan per district is solved; ``--wait-prepared`` starts
the timed phase only once every kindergarten's page is prepared for the planners (the app's
language; the other language and the viewers' variant follow). Then every planner
(a thread with its own httpx client and session), bounded by ``--rounds`` and the time limit:

    rounds × (overview, a kindergarten page of their district, their district's plan page)
    and, for the first ``--writers`` planners: pin one line → re-solve with the pin → approve
    one line of the new version → approve it

It prints p50/p95/max latency per page, the error count and how the kindergarten pages got their
prepared part (ahead, at once while the request waited, or "being prepared"), then checks that
nothing was lost: every pin and approval a planner got a 2xx for is in the store's audit log and
approvals table, and exactly one approved plan stands (each approval supersedes the one before,
with a reason). Peer: ``/health`` (the framework's floor, same server, same clients) — page p95
is printed as a ratio to it. Goals: overview and plan page p95 < 300 ms, zero errors, nothing
lost. Times are printed, never asserted. The load generator shares the process (and the GIL)
with the server, so the figures are pessimistic for the server alone.
"""

from __future__ import annotations

import argparse
import gc
import random
import secrets
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PASSWORD = "load-test-password-1"
POOLS = {"staff": 8.0, "pedagogue": 4.0, "resource_pedagogue": 5.0}


@dataclass
class Record:
    latencies_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: when each timed request started (``time.perf_counter()``), in the order of latencies_s
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
            if response.status_code >= 400:
                self.errors.append(f"{page}: HTTP {response.status_code} {response.text[:160]}")
        return response


def _train_champion(district: Any, tracking_uri: str) -> str:
    from training.retrain import fit_and_promote_untested

    return fit_and_promote_untested(
        district,
        tracking_uri=tracking_uri,
        pipeline_params={
            "lgbm_params": {"n_estimators": 30, "num_leaves": 15},
            "calibration_origins": 2,
            "max_rows_per_model": 20_000,
        },
        purpose="load benchmark",
    )


def _login(name: str, url: str, record: Record) -> Any:
    """A logged-in client for ``name`` (before the timed phase), or None."""
    import httpx

    client = httpx.Client(base_url=url, timeout=300.0)
    login = record.timed(
        client,
        "login (untimed phase)",
        "POST",
        "/api/login",
        json={"name": name, "password": PASSWORD},
    )
    if login is None or login.status_code != 200:
        client.close()
        return None
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return client


def _planner(
    name: str,
    client: Any,
    plan: dict[str, Any],
    kindergartens: list[str],
    rounds: int,
    write: bool,
    deadline: float,
    record: Record,
    seed: int,
    think_s: float = 0.0,
) -> None:
    rng = random.Random(seed)

    def think() -> None:  # a planner reads a page before opening the next
        if think_s > 0:
            time.sleep(rng.uniform(0.5 * think_s, 1.5 * think_s))

    for _ in range(rounds):
        if time.monotonic() > deadline:
            break
        record.timed(client, "overview page", "GET", "/")
        think()
        record.timed(
            client, "kindergarten page", "GET", f"/kindergartens/{rng.choice(kindergartens)}"
        )
        think()
        record.timed(client, "plan page", "GET", f"/plans/{plan['id']}")
        think()
    if not write:
        return
    line = rng.choice(plan["lines"])
    pinned = record.timed(
        client,
        "pin line (API)",
        "POST",
        f"/api/plans/{plan['id']}/lines/{line['id']}/pins",
        json={
            "kind": "floor",
            "value_fte": max(line["change_fte"], 0.0),
            "comment": f"{name} knows better",
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
            "revision": new_plan_revision(client, new["id"], record),
            # planners of one district plan the same period: each approval supersedes the one
            # standing, so exactly one approved plan per district remains at the end
            "supersede": True,
            "reason": f"load run: {name}'s plan replaces the standing one",
        },
    )
    if done is not None and done.status_code == 200:
        with record.lock:
            record.plan_approvals.append(new["id"])


def new_plan_revision(client: Any, plan_id: str, record: Record) -> int:
    """The plan's revision as the planner sees it just before approving it."""
    seen = record.timed(client, "plan (API)", "GET", f"/api/plans/{plan_id}")
    return int(seen.json().get("revision", 1)) if seen is not None and seen.is_success else 1


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _page_of(method: str, path: str) -> str:
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


def _tail_report(
    timings: list[Any], since: float, gc_pauses: list[tuple[float, float]]
) -> list[str]:
    """What the slowest 5 % of each page's requests did, by the server's own clock: whether
    their page was kept or built, how long building took, how long the server held them and
    when in the run they came; and the interpreter's full garbage collections."""
    lines = []
    by_page: dict[str, list[Any]] = defaultdict(list)
    for row in timings:
        page = _page_of(row.method, row.path)
        if page and row.start >= since:
            by_page[page].append(row)
    for page, rows in sorted(by_page.items()):
        built = [r.build_s for r in rows if r.page == "miss"]
        cut = _percentile([r.seconds for r in rows], 0.95)
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


def _write_request_log(path: Path, timings: list[Any], since: float) -> None:
    import csv

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


class _FullCollections:
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


def _check_nothing_lost(sessions: Any, record: Record) -> list[str]:
    from serving.store import repository
    from serving.store.tables import Approval

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="city", choices=("district", "city"))
    parser.add_argument("--planners", type=int, default=50)
    parser.add_argument(
        "--rounds",
        type=int,
        default=8,
        help="overview + kindergarten + plan page visits per planner",
    )
    parser.add_argument(
        "--writers", type=int, default=10, help="planners who also pin, re-solve and approve"
    )
    parser.add_argument(
        "--time-limit-s",
        type=float,
        default=300.0,
        help="planners start no new browsing round after this",
    )
    parser.add_argument(
        "--think-s",
        type=float,
        default=0.0,
        help="mean pause between a planner's page views (0: back to back, the worst case)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--plan-workers", type=int, default=1, help="solver processes beside the web process"
    )
    parser.add_argument(
        "--page-workers",
        type=int,
        default=1,
        help="processes preparing the kindergarten pages (0: in the request, as before)",
    )
    parser.add_argument(
        "--wait-prepared",
        action="store_true",
        help="start the timed phase only once every kindergarten page is prepared for the planners",
    )
    parser.add_argument(
        "--prepared-timeout-s",
        type=float,
        default=1800.0,
        help="with --wait-prepared: start the timed phase after this anyway",
    )
    parser.add_argument(
        "--request-log",
        type=Path,
        default=None,
        help="write every request's server-side timing and what it did (kept page or built) "
        "to this CSV",
    )
    parser.add_argument("--plan-scenarios", type=int, default=100)
    parser.add_argument("--plan-time-limit-s", type=float, default=30.0)
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow store with a champion (default: train a small one)",
    )
    args = parser.parse_args(argv)

    from pydantic import SecretStr

    from serving.app.main import create_app, warm
    from serving.app.server import BackgroundServer
    from serving.app.settings import Settings
    from serving.app.timing import RequestTiming, RequestTimings
    from serving.auth import hash_password
    from serving.store import repository
    from simulate import simulate_district, write_simulation

    with tempfile.TemporaryDirectory(prefix="bemanning-load-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        sim = simulate_district(args.preset, seed=args.seed)
        write_simulation(sim, folder / "data", "csv")
        district = sim.district
        kindergartens = district.kindergartens
        last = district.monthly["month"].max()
        still_open = kindergartens[
            kindergartens["closed"].isna() | (kindergartens["closed"] > last)
        ]
        by_district = {
            str(name): group["kindergarten_id"].tolist()
            for name, group in still_open.groupby("district")
        }
        districts = sorted(by_district)
        print(
            f"{args.preset} preset (SIMULATED): {len(kindergartens)} kindergartens in "
            f"{len(districts)} districts, {len(district.monthly)} kindergarten-months "
            f"({time.perf_counter() - t0:.1f} s)"
        )
        tracking_uri = args.tracking_uri or f"sqlite:///{folder / 'mlflow.db'}"
        if args.tracking_uri is None:
            t0 = time.perf_counter()
            _train_champion(district, tracking_uri)
            print(f"small champion trained and registered ({time.perf_counter() - t0:.1f} s)")
        settings = Settings(
            database_url=f"sqlite:///{folder / 'app.db'}",
            data_path=folder / "data",
            tracking_uri=tracking_uri,
            secret_key=SecretStr(secrets.token_urlsafe(32)),
            secure_cookies=False,  # plain HTTP on loopback
            plan_workers=args.plan_workers,
            page_workers=args.page_workers,
            plan_scenarios=args.plan_scenarios,
            plan_time_limit_s=args.plan_time_limit_s,
            warm_cache=False,  # the cold start is timed below instead
        )
        app = create_app(settings)
        timings: list[RequestTiming] = []
        app.add_middleware(RequestTimings, rows=timings)  # outermost: compression included
        collections = _FullCollections()
        hashed = hash_password(PASSWORD)
        names = [f"planner{i:02d}" for i in range(args.planners)]
        home = {n: districts[i % len(districts)] for i, n in enumerate(names)}
        with app.state.sessions.begin() as session:
            for planner in names:
                repository.create_user(
                    session,
                    name=planner,
                    password_hash=hashed,
                    role="planner",
                    district=home[planner],
                )
        record = Record()
        with BackgroundServer(app) as url:
            t0 = time.perf_counter()
            clients = {n: _login(n, url, record) for n in names}
            print(f"{len(names)} planners logged in, untimed ({time.perf_counter() - t0:.1f} s)")
            t0 = time.perf_counter()
            first = clients[names[0]]
            warm(app)  # what `serve` does in the background at start
            first.get("/")
            print(
                f"cold start: forecasts, drivers and overview computed and stored, "
                f"{app.state.overview_ahead.rendered} overview pages rendered ahead, first "
                f"overview served {time.perf_counter() - t0:.1f} s; kindergarten pages being "
                f"prepared in {args.page_workers} background process(es)"
            )
            prepared = app.state.prepared_pages
            t0 = time.perf_counter()
            plans: dict[str, dict[str, Any]] = {}
            for planner in names:
                if home[planner] in plans or clients[planner] is None:
                    continue
                created = record.timed(
                    clients[planner],
                    "solve plan (untimed phase)",
                    "POST",
                    "/api/plans",
                    json={"pools": POOLS},
                )
                if created is not None and created.status_code == 201:
                    plans[home[planner]] = created.json()
            print(f"{len(plans)} district plans solved, untimed ({time.perf_counter() - t0:.1f} s)")
            if args.wait_prepared:
                # the pages the planners ask for: the app's language, planners' audience (all
                # four variants take four times as long on a busy machine)
                t0 = time.perf_counter()
                language, n_ids = settings.language, len(kindergartens)
                while prepared.prepared_for(language, False) < n_ids:
                    if time.perf_counter() - t0 > args.prepared_timeout_s:
                        break
                    time.sleep(0.5)
                done = prepared.prepared_for(language, False)
                print(
                    f"kindergarten pages prepared for the planners ({language}): {done} of "
                    f"{n_ids} ({'complete' if done >= n_ids else 'NOT complete'}) after a "
                    f"further {time.perf_counter() - t0:.1f} s"
                )
            before_run = replace(prepared.counts)
            for _ in range(50):
                record.timed(first, "/health (peer)", "GET", "/health")
            deadline = time.monotonic() + args.time_limit_s
            threads = [
                threading.Thread(
                    target=_planner,
                    args=(
                        n,
                        clients[n],
                        plans[home[n]],
                        by_district[home[n]],
                        args.rounds,
                        i < args.writers,
                        deadline,
                        record,
                        i,
                        args.think_s,
                    ),
                )
                for i, n in enumerate(names)
                if clients[n] is not None and home[n] in plans
            ]
            timed_before = sum(len(v) for v in record.latencies_s.values())
            t0 = time.perf_counter()
            gc.callbacks.append(collections)
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            gc.callbacks.remove(collections)
            during = prepared.counts
            prepared_during = {
                "kept": during.kept - before_run.kept,
                "waited": during.waited - before_run.waited,
                "not_ready": during.not_ready - before_run.not_ready,
                "in_request": during.inline - before_run.inline,
            }
            for client in clients.values():
                if client is not None:
                    client.close()
        lost = _check_nothing_lost(app.state.sessions, record)
        app.state.prepared_pages.close()
        app.state.engine_state.close()
        app.state.db_engine.dispose()

    floor = _percentile(record.latencies_s["/health (peer)"], 0.95)
    timed = sum(len(v) for v in record.latencies_s.values()) - timed_before
    print(
        f"\n{len(threads)} concurrent planners, {timed} requests in {wall:.1f} s: "
        f"{timed / wall:.1f} requests/s, think time {args.think_s:g} s (loopback, 2 cores "
        "shared with the load generator)"
    )
    rows = []
    for page, values in sorted(record.latencies_s.items()):
        p95 = _percentile(values, 0.95)
        rows.append(
            (
                page,
                len(values),
                1000 * statistics.median(values),
                1000 * p95,
                1000 * max(values),
                p95 / floor if floor else float("nan"),
            )
        )
    print(f"{'page':<24}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'p95/health':>12}")
    for page, n, p50, p95, peak, ratio in rows:
        print(f"{page:<24}{n:>6}{p50:>10.1f}{p95:>10.1f}{peak:>10.1f}{ratio:>12.1f}")
    for line in _tail_report(timings, t0, collections.pauses):
        print(line)
    if args.request_log is not None:
        _write_request_log(args.request_log, timings, t0)
        print(f"every request's timing: {args.request_log}")
    print(f"\nerrors: {len(record.errors)}")
    for error in record.errors[:10]:
        print(f"  {error}")
    print(
        "kindergarten pages' sections during the run: {kept} prepared ahead, {waited} prepared "
        "while the request waited, {not_ready} 'being prepared', {in_request} in the "
        "request".format(**prepared_during)
    )
    print(
        f"pins recorded: {len(record.pins)}, line approvals: {len(record.line_approvals)}, "
        f"plan approvals: {len(record.plan_approvals)}; lost: {len(lost)}"
    )
    for item in lost[:10]:
        print(f"  LOST {item}")
    goals = {
        page: _percentile(record.latencies_s[page], 0.95) < 0.3
        for page in ("overview page", "plan page")
        if record.latencies_s.get(page)
    }
    print(
        "goal p95 < 300 ms: "
        + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in goals.items())
        + f"; zero errors {'met' if not record.errors else 'NOT met'}"
        + f"; nothing lost {'met' if not lost else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
