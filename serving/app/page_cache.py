"""Rendered pages kept and served again while what they show has not changed.

A page is rendered once per *what it shows* — the data fingerprint and model version (the
engine's status), the plan's revision and trail for a plan page, the page's query, the audience
(role and district: the privacy rules differ) and the language — and kept, as UTF-8 and as gzip
(serving.app.kept_page), with marks where the only per-request parts go: the CSRF token of the
forms and the user's name in the header. Serving it again pastes those two in — no pandas, no
Jinja, no compressor. The store is never cached here: the caller reads what identifies the
page's state (a cheap query) on every request and makes it part of the key, so a pin, an
approval or a new plan shows on the very next request.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable

from markupsafe import escape

from serving.app.kept_page import KeptPage

#: Kept pages at most (least recently used go first) and their total size, bytes (UTF-8 and
#: gzip together).
MAX_PAGES = 400
MAX_BYTES = 96_000_000


class PageCache:
    """Thread-safe LRU of rendered pages with per-request marks."""

    def __init__(self, max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES) -> None:
        # random per process: no data set or user input can contain them by chance
        self.csrf_mark = f"csrf-mark-{secrets.token_hex(12)}"
        self.name_mark = f"user-mark-{secrets.token_hex(12)}"
        self.max_pages, self.max_bytes = max_pages, max_bytes
        self._pages: OrderedDict[Hashable, KeptPage] = OrderedDict()
        self._bytes = 0
        # pages rendered ahead (serving.app.routes.overview_ahead): outside the LRU, so a run
        # of kindergarten pages never pushes them out; dropped when the data or the model change
        self._held: dict[Hashable, KeptPage] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def keep(self, html: str) -> KeptPage:
        """``html`` (rendered with :attr:`csrf_mark` and :attr:`name_mark`) split and compressed
        for keeping — outside the lock: the compressor runs once per page, not per request."""
        return KeptPage.of(html, (self.csrf_mark, self.name_mark))

    def get(self, key: Hashable) -> KeptPage | None:
        with self._lock:
            page = self._held.get(key)
            if page is not None:
                self.hits += 1
                return page
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: Hashable, page: KeptPage) -> None:
        with self._lock:
            old = self._pages.pop(key, None)
            self._bytes -= old.size if old is not None else 0
            self._pages[key] = page
            self._bytes += page.size
            while len(self._pages) > 1 and (  # the newest page stays, however large
                len(self._pages) > self.max_pages or self._bytes > self.max_bytes
            ):
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= dropped.size

    def hold(self, key: Hashable, page: KeptPage) -> None:
        """Keep a page rendered ahead until :meth:`release_held`, whatever the LRU does."""
        with self._lock:
            self._held[key] = page

    def release_held(self) -> None:
        """Drop the pages rendered ahead (they were for a data set or model now replaced)."""
        with self._lock:
            self._held = {}

    @property
    def held(self) -> int:
        return len(self._held)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._held = {}
            self._bytes = 0

    @staticmethod
    def values(*, csrf_token: str, user_name: str) -> tuple[bytes, bytes]:
        """One request's values for the marks, in :meth:`keep`'s order: its CSRF token and the
        user's name, escaped as the template would have."""
        return str(escape(csrf_token)).encode(), str(escape(user_name)).encode()
