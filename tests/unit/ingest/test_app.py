"""The webhook endpoint end to end with a fake publisher: order of checks, bodies, headers."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi.routing import APIRoute

from ingest.api.webhooks import ROUTE, router
from ingest.app import create_app
from ingest.errors import PublishUnavailableError
from ingest.settings import Settings
from tds_common.events import EventEnvelope
from tds_common.logging import JsonFormatter
from tds_common.tracing import kafka_headers

TOKEN = "unit-test-webhook-token"
OTHER_TOKEN = "another-orgs-webhook-token"
OTHER_ORG = "60000000003"
RECORD = {"item_id": "4600000000012345", "last_modified_time": "2026-06-09T09:45:21-0400"}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[tuple[EventEnvelope, dict[str, bytes]]] = []
        self.fail = False

    async def start(self, *, within_seconds: float) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def check(self) -> None:
        return None

    async def publish(self, envelope: EventEnvelope) -> None:
        if self.fail:
            raise PublishUnavailableError("Kafka did not acknowledge", retry_after_seconds=7)
        self.published.append((envelope, dict(kafka_headers())))


@pytest.fixture(name="publisher")
def fixture_publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture(name="client")
async def fixture_client(publisher: FakePublisher) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        webhook_secrets={"60000000001": [TOKEN], "60000000002": [TOKEN], OTHER_ORG: [OTHER_TOKEN]},
        zoho_organization_id="60000000001",
        max_body_bytes=4096,
    )
    app = create_app(settings, publisher=publisher)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield client


async def test_accepted_after_publish_with_org_and_trace(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    response = await client.post(
        "/api/zoho/webhooks/products?org_id=60000000003",
        json={"item": RECORD},
        headers={
            "X-TDS-Webhook-Token": TOKEN,
            "X-TDS-Org": "60000000002",
            "X-Request-ID": "req-123",
            "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01",
        },
    )
    assert response.status_code == 202, response.text
    assert response.headers["X-Request-ID"] == "req-123"
    body = response.json()
    ((envelope, headers),) = publisher.published
    assert body == {
        "status": "accepted",
        "event_id": envelope.event_id,
        "entity": "products",
        "zoho_id": RECORD["item_id"],
        "op": "upsert",
    }
    assert envelope.org_id == "60000000002"
    assert envelope.key == b"60000000002:products:4600000000012345"
    assert envelope.source == "webhook"
    assert envelope.payload == RECORD
    # The caller's trace continues into Kafka: same trace id, our own span id.
    version, trace_id, span_id, _ = headers["traceparent"].decode().split("-")
    assert (version, trace_id) == ("00", TRACE_ID)
    assert span_id != "00f067aa0ba902b7"


async def test_a_webhook_is_answered_without_a_worker_thread(
    client: httpx.AsyncClient, publisher: FakePublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing on the webhook's path runs in the thread pool: a hop there and back per request
    (a plain ``def`` dependency) cost a good share of ingest's CPU and latency under load."""

    async def no_threads(*args: object, **kwargs: object) -> None:
        raise AssertionError("a webhook request went to a worker thread")

    monkeypatch.setattr(anyio.to_thread, "run_sync", no_threads)
    response = await client.post(
        "/api/zoho/webhooks/products", json={"item": RECORD}, headers={"X-TDS-Webhook-Token": TOKEN}
    )
    assert response.status_code == 202, response.text
    assert len(publisher.published) == 1


def test_the_webhook_reads_headers_and_query_itself_and_documents_them() -> None:
    """FastAPI validated each of the seven optional header and query strings with pydantic on
    every request (a fifth of a webhook's CPU); the handler reads them, the schema keeps them."""
    settings = Settings(webhook_secrets={"60000000001": [TOKEN]})
    app = create_app(settings, publisher=FakePublisher())
    (route,) = [r for r in router.routes if isinstance(r, APIRoute) and r.path == ROUTE]
    assert route.dependant.header_params == [] and route.dependant.query_params == []
    # The entity and the state are read from the request too (no parameter, no dependency).
    assert route.dependant.path_params == [] and route.dependant.dependencies == []
    parameters = app.openapi()["paths"][ROUTE]["post"]["parameters"]
    assert {(p["in"], p["name"]) for p in parameters} == {
        ("path", "entity"),
        ("query", "token"),
        ("query", "org_id"),
        ("query", "op"),
        ("header", "x-tds-webhook-token"),
        ("header", "x-tds-org"),
        ("header", "x-tds-event"),
        ("header", "x-zoho-webhook-signature"),
    }


async def test_trace_is_started_when_caller_sends_none(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    response = await client.post(
        f"/api/zoho/webhooks/invoices?token={TOKEN}&op=delete",
        json={"invoice": {"invoice_id": "9", "last_modified_time": RECORD["last_modified_time"]}},
    )
    assert response.status_code == 202
    ((envelope, headers),) = publisher.published
    assert envelope.op == "delete"
    assert envelope.org_id == "60000000001"
    assert len(headers["traceparent"].decode().split("-")[1]) == 32


async def test_token_is_checked_before_the_body_is_read(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    pulled: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        pulled.append(b"chunk")
        yield json.dumps({"item": RECORD}).encode()

    response = await client.post(
        "/api/zoho/webhooks/products",
        content=body(),
        headers={"X-TDS-Webhook-Token": "wrong-token", "Content-Type": "application/json"},
    )
    assert response.status_code == 401
    assert pulled == []
    assert publisher.published == []


async def test_errors_never_echo_the_presented_token(client: httpx.AsyncClient) -> None:
    almost = TOKEN[:-1] + "X"
    for response in (
        await client.post(f"/api/zoho/webhooks/products?token={almost}", json={}),
        await client.post(
            "/api/zoho/webhooks/nope", json={}, headers={"X-TDS-Webhook-Token": TOKEN}
        ),
        await client.post(
            f"/api/zoho/webhooks/products?token={TOKEN}", json={"item": {"item_id": "1"}}
        ),
    ):
        assert response.status_code in (401, 404, 422)
        assert TOKEN not in response.text and almost not in response.text
        assert set(response.json()) >= {"error_code", "message"}


JSON = {"Content-Type": "application/json"}
P = "/api/zoho/webhooks/products?token=T"


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "code"),
    [
        ("/api/zoho/webhooks/products", {"json": {"item": RECORD}}, 401, "unauthorized"),
        ("/api/zoho/webhooks/warehouses?token=T", {"json": {}}, 404, "unknown_entity"),
        (P, {"content": b"{", "headers": JSON}, 400, "malformed_payload"),
        (P + "&op=purge", {"json": {"item": RECORD}}, 400, "invalid_parameter"),
        (P, {"content": b"x" * 5000, "headers": JSON}, 413, "payload_too_large"),
        (
            P,
            {"content": b"<i/>", "headers": {"Content-Type": "text/xml"}},
            415,
            "unsupported_media_type",
        ),
        (P, {"json": {"item": {"name": "x"}}}, 422, "invalid_record"),
    ],
)
async def test_rejections_have_status_and_json_error(
    client: httpx.AsyncClient,
    publisher: FakePublisher,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = await client.post(path.replace("token=T", f"token={TOKEN}"), **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code
    assert publisher.published == []


async def test_publish_failure_is_503_with_retry_after_and_counted(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    publisher.fail = True
    bill = {"bill_id": "5", "last_modified_time": RECORD["last_modified_time"]}
    response = await client.post(
        "/api/zoho/webhooks/bills", json={"bill": bill}, headers={"X-TDS-Webhook-Token": TOKEN}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert (await client.get("/api/zoho/webhooks/inbox/stats")).status_code == 401
    stats = (await client.get(f"/api/zoho/webhooks/inbox/stats?token={TOKEN}")).json()
    stats = stats["windows"]["5m"]
    assert stats["rejected_by_reason"] == {"kafka_unavailable": 1}
    assert stats["by_entity"]["bills"] == {"received": 1, "accepted": 0, "rejected": 1}
    metrics = (await client.get("/metrics")).text
    assert (
        'tds_ingest_webhooks_total{entity="bills",reason="kafka_unavailable",status_code="503"}'
        in metrics
    )


async def test_logs_carry_request_id_and_trace_id_as_json(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingest")
    await client.post(
        "/api/zoho/webhooks/products",
        json={"item": RECORD},
        headers={
            "X-TDS-Webhook-Token": TOKEN,
            "X-Request-ID": "req-log-1",
            "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01",
        },
    )
    await client.post(f"/api/zoho/webhooks/products?token={TOKEN}", json={"item": {}})
    accepted, rejected = [r for r in caplog.records if r.name == "ingest.api.webhooks"]
    line = json.loads(JsonFormatter().format(accepted))
    assert line["message"] == "webhook accepted"
    assert (line["request_id"], line["trace_id"], line["entity"]) == (
        "req-log-1",
        TRACE_ID,
        "products",
    )
    rejected_line = json.loads(JsonFormatter().format(rejected))
    assert rejected_line["reason"] == "invalid_record"
    assert len(rejected_line["request_id"]) == 32  # minted when the caller sent none
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"X-TDS-Org": "60000000002"}, ""),
        ({}, "?org_id=60000000001"),
        ({}, ""),
        ({"X-TDS-Org": "60000000001"}, f"?org_id={OTHER_ORG}"),
    ],
    ids=["header", "query", "default-org", "header-wins"],
)
async def test_a_token_of_another_organization_is_403_and_publishes_nothing(
    client: httpx.AsyncClient, publisher: FakePublisher, headers: dict[str, str], query: str
) -> None:
    """Before, any token holder could write any organization (issue 17)."""
    response = await client.post(
        f"/api/zoho/webhooks/products{query}",
        json={"item": RECORD},
        headers={"X-TDS-Webhook-Token": OTHER_TOKEN, **headers},
    )
    assert response.status_code == 403, response.text
    assert response.json()["error_code"] == "org_not_allowed"
    assert OTHER_TOKEN not in response.text
    assert publisher.published == []
    own = await client.post(
        "/api/zoho/webhooks/products",
        json={"item": RECORD},
        headers={"X-TDS-Webhook-Token": OTHER_TOKEN, "X-TDS-Org": OTHER_ORG},
    )
    assert own.status_code == 202, own.text
    assert [e.org_id for e, _ in publisher.published] == [OTHER_ORG]


async def test_stats_can_be_opened_to_callers_without_token(publisher: FakePublisher) -> None:
    settings = Settings(
        webhook_secrets=[TOKEN], zoho_organization_id="60000000001", stats_require_token=False
    )
    app = create_app(settings, publisher=publisher)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            response = await client.get("/api/zoho/webhooks/inbox/stats")
    assert response.status_code == 200
    assert response.json()["scope"] == "replica"


def test_accepted_webhooks_are_counted_from_zero_before_the_first_one() -> None:
    """A series born at its first increment hides that increment from increase() after a restart."""
    from prometheus_client import REGISTRY

    from tds_common.catalogue import WEBHOOK_ENTITIES

    for entity in WEBHOOK_ENTITIES:
        labels = {"entity": entity, "status_code": "202", "reason": "accepted"}
        assert REGISTRY.get_sample_value("tds_ingest_webhooks_total", labels) is not None


async def test_of_a_repeated_header_the_first_value_counts(
    client: httpx.AsyncClient, publisher: FakePublisher
) -> None:
    """The handler reads the raw headers once; a repeated one means what Starlette's
    ``Headers.get`` made of it: its first value."""
    body = json.dumps({"item": RECORD}).encode()
    first_right = [
        ("X-TDS-Webhook-Token", TOKEN),
        ("X-TDS-Webhook-Token", "not-the-token-at-all-0123"),
        ("Content-Type", "application/json"),
        ("Content-Type", "text/plain"),
    ]
    response = await client.post("/api/zoho/webhooks/products", content=body, headers=first_right)
    assert response.status_code == 202, response.text
    first_wrong = [first_right[1], first_right[0], first_right[2]]
    response = await client.post("/api/zoho/webhooks/products", content=body, headers=first_wrong)
    assert response.status_code == 401, response.text
    wrong_type = [first_right[0], first_right[3], first_right[2]]
    response = await client.post("/api/zoho/webhooks/products", content=body, headers=wrong_type)
    assert response.status_code == 415, response.text
    assert len(publisher.published) == 1
