"""Kindergarten pages prepared ahead: the model's part of every kindergarten page — fan charts,
their tables, the § 31/§ 37 forecasts, the drivers and the monthly history — rendered once per
data fingerprint and model version, for every language and both audiences (planners, and
viewers who see decision counts under 5 as "<5"), in a background *process* and kept in memory
(compressed) and in the store.

Why a process: a kindergarten page's model part costs 0.1–0.4 s of pandas and Jinja, and in the
web process that time holds the interpreter (the GIL) while every other request waits; with 50
planners browsing 700 kindergartens nearly every visit is a first one. Prepared ahead, a request
only renders the page's frame (heading, the allocations from the store) around two kept pieces
of HTML. A kindergarten asked for before its turn is prepared at once by the same process (the
request waits for it without holding the interpreter); only when that takes longer than
:data:`WAIT_S` does the planner get "being prepared" (503, try again). ``page_workers = 0``
prepares in the request thread instead (tests, a small district).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import threading
from collections.abc import Iterable
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from data.contract import District
from serving.app.engine import exit_with_parent, stop_pool
from serving.app.kindergarten_sections import (
    SectionKey,
    as_markup,
    contributions,
    render_sections,
    split_by_kindergarten,
)
from serving.app.rendering import page_templates
from serving.i18n import LANGUAGES, N_, Message
from serving.store import repository

log = logging.getLogger(__name__)

#: Kindergartens per task of the preparing process: small, so a page asked for before its turn
#: waits for at most one task ahead of it.
CHUNK = 8
#: Seconds a request waits for its kindergarten to be prepared before "being prepared".
WAIT_S = 20.0
#: Niceness of the preparing process: requests come first on a busy machine.
NICENESS = 10

# --- the preparing process ---------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(
    parent_pid: int,
    district: District,
    forecasts: pd.DataFrame,
    contributions: pd.DataFrame | None,
) -> None:
    """Initializer of the preparing process: low priority, ends with the web process, and the
    data split by kindergarten once."""
    exit_with_parent(parent_pid)
    with contextlib.suppress(OSError):  # not permitted: the web process's priority
        os.nice(NICENESS)
    _worker["environment"] = page_templates().env
    _worker["parts"] = split_by_kindergarten(district, forecasts, contributions)


def _prepare(keys: list[SectionKey]) -> dict[SectionKey, tuple[bytes, bytes]]:
    """Task of the preparing process: the sections of ``keys`` (unknown kindergartens skipped)."""
    parts = _worker["parts"]
    return {
        key: render_sections(_worker["environment"], parts[key[0]], key)
        for key in keys
        if key[0] in parts
    }


# --- kept in the store ---------------------------------------------------------------------------


def store_kind(language: str, internal: bool) -> str:
    return f"kindergarten sections {language} {'internal' if internal else 'full'}"


def pack(entries: dict[str, tuple[bytes, bytes]]) -> bytes:
    """One variant's sections as bytes for the store: a JSON index, then the pieces."""
    index = json.dumps({k: [len(a), len(b)] for k, (a, b) in entries.items()}).encode()
    return struct.pack(">I", len(index)) + index + b"".join(a + b for a, b in entries.values())


def unpack(payload: bytes) -> dict[str, tuple[bytes, bytes]]:
    (size,) = struct.unpack(">I", payload[:4])
    index = json.loads(payload[4 : 4 + size])
    out, at = {}, 4 + size
    for key, (first, second) in index.items():
        out[key] = (payload[at : at + first], payload[at + first : at + first + second])
        at += first + second
    return out


# --- the web process's side ----------------------------------------------------------------------


class PageBeingPrepared(Exception):
    """The kindergarten's page is not prepared yet and could not be in time (503)."""

    def __init__(self, message: object = None) -> None:
        super().__init__(
            message
            or Message(
                N_("This kindergarten's page is being prepared. Try again in a few seconds.")
            )
        )


@dataclass
class Counts:
    """How requests got their kindergarten sections (for the load benchmark and the tests)."""

    kept: int = 0  # prepared ahead
    waited: int = 0  # prepared at once by the preparing process while the request waited
    inline: int = 0  # prepared in the request thread (page_workers = 0)
    not_ready: int = 0  # "being prepared"


@dataclass
class PreparedPages:
    """The sections of every kindergarten page for one data fingerprint and model version.

    ``engine`` is the app's :class:`serving.app.engine.EngineState`. :meth:`start` begins
    preparing in the background (after a cold start; again whenever the data or the model
    change); :meth:`sections` gives one page's pieces."""

    engine: Any
    workers: int = 1
    #: the app's templates (prepared in the request thread); the process builds its own
    environment: Environment | None = None
    counts: Counts = field(default_factory=Counts)
    _key: tuple[str, str] | None = None
    _sections: dict[SectionKey, tuple[bytes, bytes]] = field(default_factory=dict)
    _pool: Any = None
    _pending: dict[SectionKey, Any] = field(default_factory=dict)
    _generation: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _done: threading.Event = field(default_factory=threading.Event)

    def variants(self) -> list[tuple[str, bool]]:
        """(language, internal) in the order they are prepared: the app's language and the
        planners' audience first."""
        first = self.engine.settings.language
        languages = [first, *[x for x in LANGUAGES if x != first]]
        return [(language, internal) for language in languages for internal in (False, True)]

    def _current_key(self) -> tuple[str, str] | None:
        status = self.engine.status()
        return (status.fingerprint, status.model_version) if status.ready else None

    def start(self) -> None:
        """Prepare (or load from the store) every kindergarten's sections for the current data
        and model, in the background; nothing to do without data, model or preparing process."""
        key = self._current_key()
        if key is not None and self.workers > 0:
            self._switch(key, background=True)

    def wait(self, timeout: float | None = None) -> bool:
        """Until the preparation started last is complete (True) or ``timeout`` s passed."""
        return self._done.wait(timeout)

    @property
    def prepared(self) -> int:
        return len(self._sections)

    def prepared_for(self, language: str, internal: bool) -> int:
        """Kindergartens whose sections are prepared for one language and audience."""
        with self._lock:
            variants = [(lang, inner) for _, lang, inner in self._sections]
        return variants.count((language, internal))

    def _switch(self, key: tuple[str, str], *, background: bool) -> None:
        """Make ``key`` the prepared state: old sections and process go, preparation starts."""
        with self._lock:
            if key == self._key:
                return
            self._key, self._sections, self._pending = key, {}, {}
            self._generation += 1
            self._done.clear()
            old, self._pool = self._pool, None
            generation = self._generation
        if old is not None:
            _stop(old)
        if background and self.workers > 0:
            threading.Thread(
                target=self._prepare_all,
                args=(key, generation),
                name="prepare-pages",
                daemon=True,
            ).start()

    def sections(
        self, kindergarten_id: str, language: str, internal: bool
    ) -> tuple[Markup, Markup]:
        """The page's two kept pieces of HTML (prepared now if they were not)."""
        key = self._current_key()
        assert key is not None, "kindergarten pages need data and a model"
        self._switch(key, background=True)
        wanted = (kindergarten_id, language, internal)
        found = self._sections.get(wanted)
        if found is not None:
            self._count("kept")
            return as_markup(found)
        if self.workers == 0:
            parts = self.engine.derived(
                ("by kindergarten", *key),
                lambda: split_by_kindergarten(
                    self.engine.district(),
                    self.engine.forecasts(),
                    contributions(self.engine),
                ),
            )
            environment = self.environment or page_templates().env
            found = render_sections(environment, parts[kindergarten_id], wanted)
            self._count("inline")
        else:
            found = self._wait_for(key, wanted)
            self._count("waited")
        with self._lock:
            if self._key == key:
                self._sections[wanted] = found
        return as_markup(found)

    def _wait_for(self, key: tuple[str, str], wanted: SectionKey) -> tuple[bytes, bytes]:
        """``wanted`` prepared by the process at once (one task per page, however many ask),
        or :class:`PageBeingPrepared` when that takes longer than :data:`WAIT_S`."""
        with self._lock:
            pool = self._pool_for(key)
            future = self._pending.get(wanted)
            if future is None or future.cancelled():
                future = self._pending[wanted] = pool.submit(_prepare, [wanted])
        try:
            return future.result(timeout=WAIT_S)[wanted]  # type: ignore[no-any-return]
        except BrokenProcessPool:  # the process died: a fresh one for the next request
            self._replace_broken(pool)
        except (FutureTimeout, CancelledError):  # busy, or the data or model changed meanwhile
            pass
        finally:
            if future.done():
                with self._lock:
                    self._pending.pop(wanted, None)
        self._count("not_ready")
        raise PageBeingPrepared()

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self.counts, what, getattr(self.counts, what) + 1)

    def _pool_for(self, key: tuple[str, str]) -> Any:
        with self._lock:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                engine = self.engine
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(
                        os.getpid(),
                        engine.district(),
                        engine.forecasts(),
                        contributions(engine),
                    ),
                )
            return self._pool

    def _replace_broken(self, broken: Any) -> None:
        """Drop a pool whose process died, once (the next use starts a fresh one)."""
        with self._lock:
            if self._pool is not broken:
                return
            self._pool = None
        _stop(broken)

    def _prepare_chunk(
        self, key: tuple[str, str], todo: list[SectionKey]
    ) -> dict[SectionKey, tuple[bytes, bytes]]:
        """One task of the background preparation; a died process is replaced and the task
        tried again (twice at most)."""
        for _ in range(3):
            pool = self._pool_for(key)
            try:
                return pool.submit(_prepare, todo).result()  # type: ignore[no-any-return]
            except BrokenProcessPool:
                self._replace_broken(pool)
        raise RuntimeError("the preparing process died three times in a row")

    def _prepare_all(self, key: tuple[str, str], generation: int) -> None:
        try:
            self._load_or_prepare(key, generation)
        except CancelledError:  # the data or the model changed, or the app stops
            pass
        except Exception:  # a background job: the pages prepare what they need themselves
            log.exception("preparing the kindergarten pages stopped")
        finally:
            with self._lock:
                if generation == self._generation:
                    self._done.set()

    def _load_or_prepare(self, key: tuple[str, str], generation: int) -> None:
        fingerprint, version = key
        ids = self.engine.district().kindergartens["kindergarten_id"].astype(str).tolist()
        for language, internal in self.variants():
            kind = store_kind(language, internal)
            with self.engine.sessions() as session:
                payload = repository.cache_get(
                    session, data_fingerprint=fingerprint, model_version=version, kind=kind
                )
            if payload is not None:
                kept = unpack(payload)
                self._add(generation, {(k, language, internal): v for k, v in kept.items()})
                continue
            for chunk in _chunks(ids, CHUNK):
                if generation != self._generation:
                    return
                todo = [(k, language, internal) for k in chunk]
                todo = [k for k in todo if k not in self._sections]
                if todo:
                    self._add(generation, self._prepare_chunk(key, todo))
            with self._lock:
                if generation != self._generation:
                    return
                entries = {
                    k: self._sections[(k, language, internal)]
                    for k in ids
                    if (k, language, internal) in self._sections
                }
            with self.engine.sessions.begin() as session:
                repository.cache_put(
                    session,
                    data_fingerprint=fingerprint,
                    model_version=version,
                    kind=kind,
                    payload=pack(entries),
                )

    def _add(self, generation: int, found: dict[SectionKey, tuple[bytes, bytes]]) -> None:
        with self._lock:
            if generation == self._generation:
                self._sections.update(found)

    def close(self) -> None:
        """Stop the preparing process (the app shuts down)."""
        with self._lock:
            self._generation += 1
            pool, self._pool = self._pool, None
        if pool is not None:
            _stop(pool)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stop(pool: Any) -> None:
    stop_pool(pool)
