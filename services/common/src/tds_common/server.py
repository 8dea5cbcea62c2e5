"""Runs a service's ASGI app under uvicorn: one worker, our logging and tracing, graceful SIGTERM.

uvicorn stops accepting connections on SIGTERM, lets in-flight requests finish within
``timeout_graceful_shutdown`` and then runs the app's lifespan shutdown (flush producers, commit
offsets, close pools).
"""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from tds_common.logging import configure_logging
from tds_common.settings import ServiceSettings
from tds_common.tracing import configure_tracing


def serve(app: FastAPI, settings: ServiceSettings, *, component: str) -> None:
    """Serve ``app``; ``component`` names the process in traces (unless OTEL_SERVICE_NAME does)."""
    configure_logging(settings.log_level, json_format=settings.log_json)
    configure_tracing(component)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        workers=1,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds),
        lifespan="on",
    )
