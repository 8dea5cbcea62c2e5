"""Run the simulator as a real HTTP server inside a test process.

``run_in_thread(settings)`` starts uvicorn in a daemon thread on ``settings.port`` (0 = a free
port), waits until it accepts connections, yields ``http://127.0.0.1:<port>`` and stops it on
exit. ``serve_app_in_thread`` does the same for any ASGI app (e.g. a webhook receiver).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import uvicorn

from zoho_sim.app import create_app
from zoho_sim.settings import SimSettings

START_TIMEOUT_SECONDS: Final = 20.0
GRACEFUL_SHUTDOWN_SECONDS: Final = 2
"""Calls still held by a ``hold`` fault must not keep a test waiting at teardown."""


@contextmanager
def serve_app_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread; yields its base URL."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        workers=1,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="zoho-sim-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"server on {host}:{port} did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_SECONDS)


@contextmanager
def run_in_thread(settings: SimSettings | None = None) -> Iterator[str]:
    """The simulator on a free port (unless ``settings.port`` names one); yields its base URL."""
    settings = settings or SimSettings(port=0)
    with serve_app_in_thread(create_app(settings), settings.host, settings.port) as url:
        yield url
