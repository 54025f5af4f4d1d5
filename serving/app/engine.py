"""The engine as the app sees it: the data set, the champion model and its forecasts, loaded
once and cached — in memory for speed and in the store (keyed by data fingerprint and model
version) so a restart does not recompute them. Everything here is safe to call from many request
threads at once."""

from __future__ import annotations

import io
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from data.contract import District
from data.errors import DataContractError, UserInputError
from serving.app.settings import Settings
from serving.i18n import N_, Message
from serving.store import repository

#: How long an answer "there is no champion yet" is trusted before MLflow is asked again, s.
NO_MODEL_RETRY_S = 10.0
#: How long a loaded champion is trusted before the registry is asked for a newer one, s.
MODEL_REFRESH_S = 300.0


@dataclass(frozen=True)
class EngineStatus:
    """What the pages need to know to say what to do first."""

    data_ok: bool
    model_ok: bool
    data_message: str = ""
    model_message: str = ""
    simulated: bool = False
    fingerprint: str = ""
    model_version: str = ""
    problems: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.data_ok and self.model_ok


@dataclass
class _ModelSlot:
    model: Any = None
    error: str = ""
    checked_at: float = -1e9
    checking: bool = False  # a registry check is running in the background


@dataclass
class EngineState:
    settings: Settings
    sessions: sessionmaker[Session]
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _district: District | None = None
    _district_key: tuple[str, float] | None = None
    _district_error: UserInputError | None = None
    _model: _ModelSlot = field(default_factory=_ModelSlot)
    _frames: dict[tuple[str, str, str], pd.DataFrame] = field(default_factory=dict)
    _derived: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    _key_locks: dict[tuple[Any, ...], threading.Lock] = field(default_factory=dict)
    _solver_pool: Any = None
    _solves: dict[str, tuple[float, str]] = field(default_factory=dict)

    # --- data ------------------------------------------------------------------------------

    def _data_key(self) -> tuple[str, float] | None:
        path = self.settings.data_path
        if path is None or not Path(path).exists():
            return None
        target = Path(path)
        # a raw folder (sources.toml) keeps its exports in subfolders: any of them may change
        found = target.rglob("*") if (target / "sources.toml").exists() else target.iterdir()
        files = [target] if target.is_file() else [p for p in found if p.is_file()]
        return str(target), max((p.stat().st_mtime for p in files), default=0.0)

    def district(self) -> District:
        """The validated data set; re-read when its files change. Raises UserInputError with every
        problem when the data break the contract, or when no data path is set."""
        path = self.settings.data_path
        if path is None:
            raise UserInputError(
                Message(
                    N_(
                        "No data set yet: start the app with `bemanning serve --data DATA` (a "
                        "data folder or DuckDB file, see CONTRACT.md)."
                    )
                )
            )
        key = self._data_key()
        if key is None:
            raise UserInputError(
                Message(N_("The data path %(path)s does not exist."), path=str(path))
            )
        with self._lock:
            if key == self._district_key:
                if self._district_error is not None:
                    raise self._district_error
                assert self._district is not None
                return self._district
            from data.validate import read_district

            try:
                district = read_district(Path(path))
            except UserInputError as exc:
                self._district, self._district_key, self._district_error = None, key, exc
                raise
            self._district, self._district_key, self._district_error = district, key, None
            self._derived.clear()
            return district

    # --- model -----------------------------------------------------------------------------

    def champion(self) -> Any:
        """The champion model (``training.registry.LoadedModel``); raises UserInputError telling
        the planner to train first when there is none."""
        with self._lock:
            slot = self._model
            age = time.monotonic() - slot.checked_at
            if slot.model is not None:
                if age >= MODEL_REFRESH_S and not slot.checking:
                    # asked in the background: under this lock an MLflow query would hold every
                    # request's status check until it answers (a new client's first query took
                    # 9 s at a load average of 6)
                    slot.checking = True
                    threading.Thread(
                        target=self._check_champion,
                        args=(slot,),
                        name="champion-check",
                        daemon=True,
                    ).start()
                return slot.model
            if slot.model is None and slot.error and age < NO_MODEL_RETRY_S:
                raise UserInputError(slot.error)
            try:
                from training.registry import load_champion

                model = load_champion(self.settings.tracking_uri)
            except UserInputError as exc:
                self._model = _ModelSlot(None, str(exc), time.monotonic())
                raise
            except ModuleNotFoundError as exc:
                message = Message(
                    N_("The training part of the engine is not installed (%(module)s)."),
                    module=str(exc.name),
                )
                self._model = _ModelSlot(None, message, time.monotonic())
                raise UserInputError(message) from None
            self._model = _ModelSlot(model, "", time.monotonic())
            return model

    def _check_champion(self, slot: _ModelSlot) -> None:
        """Whether the registry's champion is still the loaded one; if not, the next request
        loads the new one (and the pages prepared for the old one are prepared again)."""
        unchanged = self._champion_unchanged(slot.model)
        with self._lock:
            slot.checking = False
            slot.checked_at = time.monotonic()
            if not unchanged and self._model is slot:
                self._model = _ModelSlot()

    def _champion_unchanged(self, model: Any) -> bool:
        """A cheap registry look-up instead of loading the model again."""
        try:
            from training.registry import champion_version

            return champion_version(self.settings.tracking_uri) == str(model.version)
        except Exception:  # the registry is unreachable: keep serving the loaded model
            return True

    def reload_model(self) -> None:
        with self._lock:
            self._model = _ModelSlot()

    def status(self) -> EngineStatus:
        try:
            district = self.district()
        except UserInputError as exc:
            return EngineStatus(
                False,
                False,
                data_message=_said(exc),
                problems=tuple(str(p) for p in exc.problems[:50]),
            )
        try:
            model = self.champion()
        except UserInputError as exc:
            return EngineStatus(
                True,
                False,
                model_message=_model_message(exc),
                simulated=district.simulated,
                fingerprint=district.fingerprint(),
            )
        return EngineStatus(
            True,
            True,
            simulated=district.simulated,
            # not self.fingerprint(): that looks at the data files again (every page asks)
            fingerprint=self.derived(("fingerprint",), district.fingerprint),
            model_version=str(model.version),
        )

    def fingerprint(self) -> str:
        district = self.district()
        return self.derived(("fingerprint",), district.fingerprint)

    # --- cached engine output ----------------------------------------------------------------

    def _key_lock(self, key: tuple[Any, ...]) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def derived(self, key: tuple[Any, ...], compute: Any) -> Any:
        """A value computed once per data set and model (cleared when either changes). Each key
        has its own lock, so a slow computation never blocks pages that need something else."""
        if key in self._derived:
            return self._derived[key]
        with self._key_lock(("derived", *key)):
            if key in self._derived:
                return self._derived[key]
            value = compute()
            self._derived[key] = value
            return value

    def cached_frame(self, kind: str, compute: Any) -> pd.DataFrame:
        """Engine output of ``kind`` for the current data and champion: from memory, else from the
        store, else computed (once, while other requests for it wait) and stored."""
        fingerprint = self.fingerprint()
        version = str(self.champion().version)
        key = (fingerprint, version, kind)
        if key in self._frames:
            return self._frames[key]
        with self._key_lock(("frame", *key)):
            if key in self._frames:
                return self._frames[key]
            with self.sessions() as session:
                payload = repository.cache_get(
                    session, data_fingerprint=fingerprint, model_version=version, kind=kind
                )
            if payload is not None:
                frame = pd.read_parquet(io.BytesIO(payload))
            else:
                frame = compute()
                buffer = io.BytesIO()
                parquet_ready(frame).to_parquet(buffer, index=False)
                with self.sessions.begin() as session:
                    repository.cache_put(
                        session,
                        data_fingerprint=fingerprint,
                        model_version=version,
                        kind=kind,
                        payload=buffer.getvalue(),
                    )
                frame = pd.read_parquet(io.BytesIO(buffer.getvalue()))
            self._frames[key] = frame
            return frame

    def warm(self) -> None:
        """Compute (or load from the store) what the pages need, so the first planner does not
        wait; a missing data set or model is simply left for the pages to explain."""
        try:
            self.forecasts()
            self.contributions()
            from serving.app.views import overview_table

            model = self.champion()
            self.derived(
                ("overview", self.fingerprint(), model.version),
                lambda: overview_table(
                    self.district(),
                    self.forecasts(),
                    pit_history=getattr(model, "pit_history", None),
                ),
            )
        except Exception:  # a background warm-up: the pages report any problem themselves
            return

    def forecasts(self) -> pd.DataFrame:
        """The champion's 12-month forecasts for every kindergarten (CONTRACT.md format; months
        as ``YYYY-MM`` strings)."""
        district = self.district()
        return self.cached_frame(
            "forecasts", lambda: self.champion().pipeline.predict(district, horizon=12)
        )

    def contributions(self) -> pd.DataFrame:
        """The drivers behind the forecasts (top SHAP contributions per kindergarten)."""
        district = self.district()
        return self.cached_frame(
            "contributions",
            lambda: self.champion().pipeline.predict_contributions(district, horizon=12, top=5),
        )

    # --- solving plans off the request threads ------------------------------------------------

    def solve(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``function`` (the planning service) in a supervised solver process: a solve holds
        the interpreter for seconds, and in the web process it would stall every page. A solver
        that dies (killed, out of memory) is replaced and the request gets
        :class:`SolverCrashed` (503); the next solve gets a fresh process. Running solves are
        listed by :meth:`solves_running` for the progress shown on the pages."""
        from concurrent.futures.process import BrokenProcessPool

        with self._track_solve(kwargs.get("model_version", "")) as _:
            if self.settings.plan_workers == 0:
                return function(*args, **kwargs)
            pool = self._pool()
            try:
                return pool.submit(function, *args, **kwargs).result()
            except BrokenProcessPool:
                self._replace_pool(pool)
                raise SolverCrashed() from None

    def _pool(self) -> Any:
        with self._lock:
            if self._solver_pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._solver_pool = ProcessPoolExecutor(
                    max_workers=self.settings.plan_workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=exit_with_parent,
                    initargs=(os.getpid(),),
                )
            return self._solver_pool

    def _replace_pool(self, broken: Any) -> None:
        with self._lock:
            if self._solver_pool is broken:
                self._solver_pool = None
        stop_pool(broken)

    def solver_pids(self) -> list[int]:
        """Process ids of the solver processes now running (for supervision and tests)."""
        with self._lock:
            pool = self._solver_pool
        processes = getattr(pool, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.pid is not None]

    @contextmanager
    def _track_solve(self, label: str) -> Iterator[None]:
        solve_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._solves[solve_id] = (time.monotonic(), label)
        try:
            yield
        finally:
            with self._lock:
                self._solves.pop(solve_id, None)

    def solves_running(self) -> list[dict[str, float]]:
        """Seconds each running solve has taken so far, and the optimiser's time limit."""
        now = time.monotonic()
        with self._lock:
            started = [start for start, _ in self._solves.values()]
        limit = float(self.settings.plan_time_limit_s)
        return [{"elapsed_s": round(now - s, 1), "time_limit_s": limit} for s in sorted(started)]

    def close(self) -> None:
        """Stop the solver processes (a solve in progress is cut short); called when the app
        shuts down (SIGTERM, SIGINT). The resource tracker then ends with the web process."""
        with self._lock:
            pool, self._solver_pool = self._solver_pool, None
        if pool is not None:
            stop_pool(pool)


class SolverCrashed(Exception):
    """The solver process died during a solve (503)."""

    def __init__(self, message: object = None) -> None:  # the argument: when unpickled
        super().__init__(
            message
            or Message(
                N_(
                    "The optimiser stopped unexpectedly (its process ended, e.g. out of memory) "
                    "and has been restarted. Nothing was saved: solve the plan again. If it "
                    "happens again, plan fewer months or ask the administrator to give the "
                    "server more memory."
                )
            )
        )


def exit_with_parent(parent_pid: int) -> None:
    """Solver-process initializer: end this process when the web process is gone, even after a
    SIGKILL that gave it no chance to stop its children."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)
            time.sleep(1.0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def stop_pool(pool: Any) -> None:
    """Shut a process pool down without waiting for a running solve: terminate its processes."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
    # multiprocessing's resource tracker ends by itself once no process holds its pipe: the web
    # process when it exits, the solver processes now (stopping it here would pull it from under
    # other users in the process, e.g. joblib)


def parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Periods → ``YYYY-MM`` strings and mixed object columns → strings, so Parquet can hold it."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.PeriodDtype):
            out[column] = series.dt.strftime("%Y-%m")
        elif series.dtype == object:
            out[column] = series.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return out


def district_subset(district: District, name: str) -> District:
    """The part of a data set that belongs to one district (bydel)."""
    kindergartens = district.kindergartens[district.kindergartens["district"] == name]
    ids = set(kindergartens["kindergarten_id"])
    monthly = district.monthly[district.monthly["kindergarten_id"].isin(ids)]
    population = district.population
    if population is not None and "district" in population.columns:
        population = population[population["district"] == name]
    return District(
        kindergartens=kindergartens.reset_index(drop=True),
        monthly=monthly.reset_index(drop=True),
        population=population,
        simulated=district.simulated,
        source=district.source,
        extra=district.extra,
        warnings=district.warnings,
        quality=None
        if district.quality is None
        else district.quality[district.quality["kindergarten_id"].isin(ids)],
        lineage=district.lineage,
    )


def _said(exc: UserInputError) -> str:
    """The error's message as raised (a :class:`serving.i18n.Message` keeps its words for the
    page); a broken data set as a count the page can say."""
    if isinstance(exc, DataContractError):
        return Message(N_("%(n)s problem(s) with the data"), n=len(exc.errors))
    message = exc.args[0] if exc.args else ""
    return message if isinstance(message, str) else str(exc)


def _model_message(exc: UserInputError) -> str:
    """What the registry said, for the page; "" when it only says there is no champion yet
    (the page's own sentence says that, in the page's language)."""
    from training.registry import NO_CHAMPION  # the training side loads lazily, as in champion()

    return "" if str(exc) == NO_CHAMPION else _said(exc)
