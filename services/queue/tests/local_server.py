"""An ASGI app served by uvicorn on 127.0.0.1 on a free port, in a thread (fake servers, the browser tests)."""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI


class LocalServer:
    """Runs ``app``; :meth:`start` returns its base URL."""

    def __init__(self, app: FastAPI) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="local-server", daemon=True)

    def start(self) -> str:
        """Start; returns the base URL once it listens."""
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local server did not start")
            time.sleep(0.05)
        port = int(self.server.servers[0].sockets[0].getsockname()[1])
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
