from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import BaseModel

from tds_common.app import create_service_app
from tds_common.errors import UpstreamRateLimitedError, UpstreamRejectedError
from tds_common.health import HealthRegistry
from tds_common.metrics import create_http_metrics

METRICS = create_http_metrics("tds_unittest")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


def _service_app(max_body_bytes: int | None = None) -> FastAPI:
    return create_service_app(
        title="t",
        lifespan=_lifespan,
        health=HealthRegistry(),
        http_metrics=METRICS,
        max_body_bytes=max_body_bytes,
    )


def _app() -> FastAPI:
    app = _service_app()

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


class Order(BaseModel):
    mode: Literal["full", "incremental"]
    count: int


def _api_app(max_body_bytes: int | None = 1024) -> tuple[FastAPI, list[dict[str, object]]]:
    """An app with one JSON endpoint; the list records what the endpoint was given."""
    app = _service_app(max_body_bytes)
    received: list[dict[str, object]] = []

    @app.post("/orders")
    async def order(body: Order) -> dict[str, str]:
        received.append(body.model_dump())
        return {"status": "ok"}

    return app, received


def test_every_framework_error_has_our_envelope() -> None:
    """Errors are {"error_code", "message"} everywhere, not only where our code raises them."""
    app, received = _api_app()
    with TestClient(app) as client:
        unknown = client.get("/nowhere")
        assert (unknown.status_code, unknown.json()["error_code"]) == (404, "unknown_path")
        wrong = client.delete("/orders")
        assert (wrong.status_code, wrong.json()["error_code"]) == (405, "method_not_allowed")
        assert wrong.headers["allow"] == "POST"
        invalid = client.post("/orders", json={"mode": "partial", "count": "x", "secret": "s3"})
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["error_code"] == "invalid_request"
    assert body["errors"] == [
        {"field": "body.mode", "problem": "Input should be 'full' or 'incremental'"},
        {
            "field": "body.count",
            "problem": "Input should be a valid integer, unable to parse string as an integer",
        },
    ]
    assert "body.mode" in body["message"] and "s3" not in invalid.text  # input never echoed
    assert received == []


def test_a_body_that_is_not_json_is_400_malformed() -> None:
    app, received = _api_app()
    with TestClient(app) as client:
        response = client.post(
            "/orders", content=b'{"mode":', headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["error_code"] == "malformed_payload"
    assert received == []


def test_a_body_over_the_limit_is_413_and_never_reaches_the_endpoint() -> None:
    app, received = _api_app(max_body_bytes=1024)
    padded = {"mode": "full", "count": 1, "pad": "x" * 2000}
    with TestClient(app) as client:
        declared = client.post("/orders", json=padded)
        streamed = client.post(
            "/orders",
            content=iter([b'{"mode": "full", "count": 1, "pad": "', b"x" * 2000, b'"}']),
            headers={"content-type": "application/json"},
        )
        fits = client.post("/orders", json={"mode": "full", "count": 1})
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["error_code"] == "payload_too_large"
    assert fits.status_code == 200 and len(received) == 1
