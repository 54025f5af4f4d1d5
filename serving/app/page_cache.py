"""Rendered pages kept and served again while what they show has not changed.

A page is rendered once per *what it shows* — the data fingerprint and model version (the
engine's status), the plan's revision and trail for a plan page, the page's query, the audience
(role and district: the privacy rules differ) and the language — and kept as HTML in which the
only per-request parts, the CSRF token of the forms and the user's name in the header, are marks.
Serving it again is two string replacements instead of seconds of pandas and Jinja on a busy
server. The store is never cached here: the caller reads what identifies the page's state (a
cheap query) on every request and makes it part of the key, so a pin, an approval or a new plan
shows on the very next request.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable

from markupsafe import escape

#: Kept pages at most (least recently used go first) and their total size, characters.
MAX_PAGES = 400
MAX_CHARS = 96_000_000


class PageCache:
    """Thread-safe LRU of rendered pages with per-request marks."""

    def __init__(self, max_pages: int = MAX_PAGES, max_chars: int = MAX_CHARS) -> None:
        # random per process: no data set or user input can contain them by chance
        self.csrf_mark = f"csrf-mark-{secrets.token_hex(12)}"
        self.name_mark = f"user-mark-{secrets.token_hex(12)}"
        self.max_pages, self.max_chars = max_pages, max_chars
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._chars = 0
        # pages rendered ahead (serving.app.routes.overview_ahead): outside the LRU, so a run
        # of kindergarten pages never pushes them out; dropped when the data or the model change
        self._held: dict[Hashable, str] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            html = self._held.get(key)
            if html is not None:
                self.hits += 1
                return html
            html = self._pages.get(key)
            if html is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return html

    def put(self, key: Hashable, html: str) -> None:
        with self._lock:
            old = self._pages.pop(key, None)
            self._chars -= len(old) if old is not None else 0
            self._pages[key] = html
            self._chars += len(html)
            while len(self._pages) > 1 and (  # the newest page stays, however large
                len(self._pages) > self.max_pages or self._chars > self.max_chars
            ):
                _, dropped = self._pages.popitem(last=False)
                self._chars -= len(dropped)

    def hold(self, key: Hashable, html: str) -> None:
        """Keep a page rendered ahead until :meth:`release_held`, whatever the LRU does."""
        with self._lock:
            self._held[key] = html

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
            self._chars = 0

    def personalise(self, html: str, *, csrf_token: str, user_name: str) -> str:
        """The kept page for one request: its CSRF token and the user's name (escaped, as the
        template would have) in place of the marks."""
        return html.replace(self.csrf_mark, str(escape(csrf_token))).replace(
            self.name_mark, str(escape(user_name))
        )
