"""Serve an app with uvicorn in a background thread on loopback — for browser tests and the load
benchmark, which both need a real HTTP server in the same process."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

#: Seconds an idle keep-alive connection stays open. uvicorn's 5 s default races a client that
#: reuses a connection just as the server closes it (a "connection reset" on a GET).
KEEP_ALIVE_S = 75


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class BackgroundServer:
    """``with BackgroundServer(app) as url: ...`` serves ``app`` at ``url`` until the block ends."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        start_timeout_s: float = 30.0,
    ) -> None:
        import uvicorn

        self.host, self.port = host, port or free_port(host)
        self.start_timeout_s = start_timeout_s
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=self.host,
                port=self.port,
                log_level="warning",
                access_log=False,
                timeout_keep_alive=KEEP_ALIVE_S,
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)
        return self.url

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
