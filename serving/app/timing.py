"""Per-request timings with what each request did, for finding a latency tail under load.

:class:`RequestTimings` is a plain ASGI middleware (no per-request task or thread of its own):
it notes when a request arrived and when its last byte was sent, and what the route wrote in
``request.state`` on the way — ``page`` ("hit": a kept page served; "miss": built and rendered
now) and ``build_s`` (seconds building and rendering it). The load benchmark installs it and
writes every request's row to a CSV; ``serve`` does not.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class RequestTiming:
    method: str
    path: str
    status: int
    #: ``time.perf_counter()`` when the request arrived and when its response was sent
    start: float
    end: float
    #: "hit", "miss" or "" (a page that is not kept, an API call)
    page: str
    #: seconds spent building and rendering the page (a miss), else 0
    build_s: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


class RequestTimings:
    """Records a :class:`RequestTiming` per HTTP request in :attr:`rows` (thread-safe)."""

    def __init__(self, app: ASGIApp, rows: list[RequestTiming] | None = None) -> None:
        self.app = app
        self.rows: list[RequestTiming] = rows if rows is not None else []
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            # request.state writes into scope["state"] (Starlette), read here after the route
            state: dict[str, Any] = scope.get("state") or {}
            row = RequestTiming(
                method=str(scope.get("method", "")),
                path=str(scope.get("path", "")),
                status=status,
                start=start,
                end=time.perf_counter(),
                page=str(state.get("page", "")),
                build_s=float(state.get("build_s", 0.0)),
            )
            with self._lock:
                self.rows.append(row)
