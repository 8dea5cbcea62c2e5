"""The app factory pieces every TDS HTTP surface shares.

``create_service_app`` gives a FastAPI app with the service's lifespan, ``/health``, ``/ready``,
``/metrics``, request metrics, a server span per request (:mod:`tds_common.tracing`) and one
exception handler that maps :class:`ServiceError` to ``{"error_code", "message"}`` with the
class's HTTP status (plus ``Retry-After`` when known).
Services add their own routers on top.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tds_common import __version__
from tds_common.errors import ServiceError, TransientError
from tds_common.health import HealthRegistry, health_router
from tds_common.metrics import HttpMetrics, instrument
from tds_common.tracing import TracingMiddleware

logger = logging.getLogger(__name__)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def error_response(exc: ServiceError) -> JSONResponse:
    """The JSON body and status for one of our errors. The message never carries secrets."""
    headers = {}
    if isinstance(exc, TransientError) and exc.retry_after_seconds is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_seconds)))
    return JSONResponse(
        {"error_code": exc.error_code, "message": str(exc)},
        status_code=exc.http_status,
        headers=headers,
    )


def create_service_app(
    *,
    title: str,
    lifespan: Lifespan,
    health: HealthRegistry,
    http_metrics: HttpMetrics,
) -> FastAPI:
    # FastAPI's own telemetry stays off: it would record query strings (ingest's ?token= secret),
    # add a second server span beside TracingMiddleware's and spans for every dependency.
    app = FastAPI(
        title=title,
        version=__version__,
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.health = health

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        if exc.http_status >= 500:
            logger.warning("request failed: %s", exc, extra={"path": request.url.path})
        return error_response(exc)

    app.include_router(health_router(health))
    instrument(app, http_metrics)
    app.add_middleware(TracingMiddleware)  # outermost: the span covers the metrics' work too
    return app
