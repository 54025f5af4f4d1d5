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
(a thread with its own httpx client and session, all in a process of their own unless
``--same-process``: benchmarks.load_planners), bounded by ``--rounds`` and the time limit:

    rounds × (overview, a kindergarten page of their district, their district's plan page)
    and, for the first ``--writers`` planners: pin one line → re-solve with the pin → approve
    one line of the new version → approve it

It prints p50/p95/max latency per page, the error count and how the kindergarten pages got their
prepared part (ahead, at once while the request waited, or "being prepared"), then checks that
nothing was lost: every pin and approval a planner got a 2xx for is in the store's audit log and
approvals table, and exactly one approved plan stands (each approval supersedes the one before,
with a reason). Peer: ``/health`` (the framework's floor, same server, same clients) — page p95
is printed as a ratio to it. Goals: overview and plan page p95 < 300 ms, zero errors, nothing
lost. Times are printed, never asserted. The load generator shares the machine's two cores with the
server (and with ``--same-process`` its interpreter too), so the figures are pessimistic for
the server alone.
"""

from __future__ import annotations

import argparse
import gc
import secrets
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from benchmarks.load_planners import (
    PASSWORD,
    POOLS,
    Planner,
    Record,
    login,
    run_planners,
    run_planners_apart,
)
from benchmarks.load_report import (
    FullCollections,
    check_nothing_lost,
    percentile,
    tail_report,
    write_request_log,
)
from serving.app.main import create_app, warm
from serving.app.server import BackgroundServer
from serving.app.settings import Settings
from serving.app.timing import RequestTiming, RequestTimings
from serving.auth import hash_password
from serving.store import repository
from simulate import simulate_district, write_simulation
from training.retrain import fit_and_promote_untested


def _train_champion(district: Any, tracking_uri: str) -> str:
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


def _parser() -> argparse.ArgumentParser:
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
    parser.add_argument(
        "--same-process",
        action="store_true",
        help="run the planners' clients in the server's process (as before 2026-12-07 13:40 "
        "UTC: they then take a share of the server's interpreter)",
    )
    parser.add_argument("--plan-scenarios", type=int, default=100)
    parser.add_argument("--plan-time-limit-s", type=float, default=30.0)
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow store with a champion (default: train a small one)",
    )
    return parser


def _settings(args: argparse.Namespace, folder: Path, tracking_uri: str) -> Settings:
    return Settings(
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


def _add_users(app: Any, home: dict[str, str]) -> None:
    hashed = hash_password(PASSWORD)
    with app.state.sessions.begin() as session:
        for planner, district in home.items():
            repository.create_user(
                session, name=planner, password_hash=hashed, role="planner", district=district
            )


def _cold_start(app: Any, first: Any, page_workers: int) -> None:
    t0 = time.perf_counter()
    warm(app)  # what `serve` does in the background at start
    first.get("/")
    print(
        f"cold start: forecasts, drivers and overview computed and stored, "
        f"{app.state.overview_ahead.rendered} overview pages rendered ahead, first "
        f"overview served {time.perf_counter() - t0:.1f} s; kindergarten pages being "
        f"prepared in {page_workers} background process(es)"
    )


def _solve_plans(
    clients: dict[str, Any], home: dict[str, str], record: Record
) -> dict[str, dict[str, Any]]:
    """One plan per district, solved by its first planner (untimed)."""
    t0 = time.perf_counter()
    plans: dict[str, dict[str, Any]] = {}
    for planner, client in clients.items():
        if home[planner] in plans or client is None:
            continue
        created = record.timed(
            client, "solve plan (untimed phase)", "POST", "/api/plans", json={"pools": POOLS}
        )
        if created is not None and created.status_code == 201:
            plans[home[planner]] = created.json()
    print(f"{len(plans)} district plans solved, untimed ({time.perf_counter() - t0:.1f} s)")
    return plans


def _wait_prepared(prepared: Any, language: str, n_ids: int, timeout_s: float) -> None:
    """Until the planners' kindergarten pages (the app's language, planners' audience: all four
    variants take four times as long on a busy machine) are prepared, or ``timeout_s``."""
    t0 = time.perf_counter()
    while prepared.prepared_for(language, False) < n_ids:
        if time.perf_counter() - t0 > timeout_s:
            break
        time.sleep(0.5)
    done = prepared.prepared_for(language, False)
    print(
        f"kindergarten pages prepared for the planners ({language}): {done} of {n_ids} "
        f"({'complete' if done >= n_ids else 'NOT complete'}) after a further "
        f"{time.perf_counter() - t0:.1f} s"
    )


def _planners(
    clients: dict[str, Any],
    home: dict[str, str],
    plans: dict[str, dict[str, Any]],
    by_district: dict[str, list[str]],
    writers: int,
) -> list[Planner]:
    """The logged-in sessions handed to the planners (their process logs in no one again)."""
    return [
        Planner(
            name=name,
            cookies={cookie.name: str(cookie.value) for cookie in client.cookies.jar},
            csrf_token=client.headers["X-CSRF-Token"],
            plan=plans[home[name]],
            kindergartens=by_district[home[name]],
            write=i < writers,
            seed=i,
        )
        for i, (name, client) in enumerate(clients.items())
        if client is not None and home[name] in plans
    ]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
        settings = _settings(args, folder, tracking_uri)
        app = create_app(settings)
        timings: list[RequestTiming] = []
        app.add_middleware(RequestTimings, rows=timings)  # outermost: compression included
        names = [f"planner{i:02d}" for i in range(args.planners)]
        home = {n: districts[i % len(districts)] for i, n in enumerate(names)}
        _add_users(app, home)
        record = Record()
        collections = FullCollections()
        with BackgroundServer(app) as url:
            t0 = time.perf_counter()
            clients = {n: login(n, url, record) for n in names}
            print(f"{len(names)} planners logged in, untimed ({time.perf_counter() - t0:.1f} s)")
            first = clients[names[0]]
            _cold_start(app, first, args.page_workers)
            prepared = app.state.prepared_pages
            plans = _solve_plans(clients, home, record)
            if args.wait_prepared:
                _wait_prepared(
                    prepared, settings.language, len(kindergartens), args.prepared_timeout_s
                )
            before_run = replace(prepared.counts)
            for _ in range(50):
                record.timed(first, "/health (peer)", "GET", "/health")
            planners = _planners(clients, home, plans, by_district, args.writers)
            run = run_planners if args.same_process else run_planners_apart
            gc.callbacks.append(collections)
            outcome = run(url, planners, args.rounds, args.time_limit_s, args.think_s)
            gc.callbacks.remove(collections)
            record.merge(outcome.record)
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
        lost = check_nothing_lost(app.state.sessions, record)
        app.state.prepared_pages.close()
        app.state.engine_state.close()
        app.state.db_engine.dispose()
    timed = sum(len(v) for v in outcome.record.latencies_s.values())
    print(
        f"\n{len(planners)} concurrent planners, {timed} requests in {outcome.wall_s:.1f} s: "
        f"{timed / outcome.wall_s:.1f} requests/s, think time {args.think_s:g} s (loopback, 2 "
        f"cores shared with the load generator, "
        f"{'in the server process' if args.same_process else 'in a process of its own'})"
    )
    _print_pages(record)
    for line in tail_report(timings, outcome.started, collections.pauses):
        print(line)
    if args.request_log is not None:
        write_request_log(args.request_log, timings, outcome.started)
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
        page: percentile(record.latencies_s[page], 0.95) < 0.3
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


def _print_pages(record: Record) -> None:
    """p50 / p95 / max per page, and p95 as a multiple of ``/health``'s."""
    floor = percentile(record.latencies_s["/health (peer)"], 0.95)
    print(f"{'page':<24}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'p95/health':>12}")
    for page, values in sorted(record.latencies_s.items()):
        p95 = percentile(values, 0.95)
        print(
            f"{page:<24}{len(values):>6}{1000 * statistics.median(values):>10.1f}"
            f"{1000 * p95:>10.1f}{1000 * max(values):>10.1f}"
            f"{(p95 / floor if floor else float('nan')):>12.1f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
