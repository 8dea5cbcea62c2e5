from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from tds_common.app import create_service_app
from tds_common.errors import UpstreamRateLimitedError, UpstreamRejectedError
from tds_common.health import HealthRegistry
from tds_common.metrics import create_http_metrics

METRICS = create_http_metrics("tds_unittest")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


def _app() -> FastAPI:
    app = create_service_app(
        title="t", lifespan=_lifespan, health=HealthRegistry(), http_metrics=METRICS
    )

    @app.get("/limited/{thing}")
    async def limited(thing: str) -> None:
        raise UpstreamRateLimitedError("budget spent", retry_after_seconds=2.2)

    @app.get("/rejected")
    async def rejected() -> None:
        raise UpstreamRejectedError("zoho said no", status_code=400, body="x" * 1000)

    return app


def test_service_errors_map_to_status_body_and_retry_after() -> None:
    with TestClient(_app()) as client:
        response = client.get("/limited/abc")
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
        assert response.json() == {"error_code": "rate_limited", "message": "budget spent"}
        rejected = client.get("/rejected")
        assert rejected.status_code == 400
        assert len(rejected.json()["message"]) < 400  # upstream body is truncated


def test_metrics_use_route_templates_not_raw_paths() -> None:
    with TestClient(_app()) as client:
        client.get("/limited/one")
        client.get("/limited/two")
        body = client.get("/metrics").text
    assert 'route="/limited/{thing}"' in body
    assert "/limited/one" not in body
    sample = REGISTRY.get_sample_value(
        "tds_unittest_http_requests_total",
        {"method": "GET", "route": "/limited/{thing}", "status_code": "429"},
    )
    assert sample is not None and sample >= 2
