"""Hostile webhook bodies: never a 5xx, and every 2xx is an event the processor can decode.

The fake publisher serializes each envelope exactly as the Kafka one does (``to_bytes``), and
every accepted event is decoded with the processor's own ``decode``: an accepted record must
reach the processor intact, not as a dead letter and not changed (``1e999`` is not ``null``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, MutableMapping
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client import REGISTRY

from ingest.app import create_app
from ingest.settings import Settings
from processor.pipeline import decode
from tds_common.events import EventEnvelope
from tds_common.json_limits import MAX_JSON_DEPTH

TOKEN = "unit-test-webhook-token"
PATH = "/api/zoho/webhooks/products"
HEADERS = {"X-TDS-Webhook-Token": TOKEN, "Content-Type": "application/json"}
HEAD = '{"item": {"item_id": "4600000000012345", "last_modified_time": "2026-06-09T09:45:21-0400"'


class SerializingPublisher:
    """Publishes what the real publisher would put on the topic: ``envelope.to_bytes()``."""

    def __init__(self) -> None:
        self.values: list[bytes] = []

    async def start(self, *, within_seconds: float) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def check(self) -> None:
        return None

    async def publish(self, envelope: EventEnvelope) -> None:
        self.values.append(envelope.to_bytes())


class Record:
    """A Kafka record as the processor's ``decode`` reads it."""

    def __init__(self, value: bytes) -> None:
        self.value = value
        self.key: bytes | None = None
        self.topic, self.partition, self.offset = "tds.zoho.events", 0, 0


@pytest.fixture(name="publisher")
def fixture_publisher() -> SerializingPublisher:
    return SerializingPublisher()


@pytest.fixture(name="app")
async def fixture_app(publisher: SerializingPublisher) -> AsyncIterator[FastAPI]:
    settings = Settings(webhook_secrets=[TOKEN], zoho_organization_id="60000000001")
    app = create_app(settings, publisher=publisher)
    async with LifespanManager(app) as manager:
        yield manager.app  # type: ignore[misc]


@pytest.fixture(name="client")
async def fixture_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # A 500 must come back as a response (what a sender would see), not as a test error.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        yield client


def _with_field(value_json: str) -> bytes:
    """A valid product record carrying one extra field whose JSON text is ``value_json``."""
    return f'{HEAD}, "extra": {value_json}}}}}'.encode()


def _nested(depth: int) -> bytes:
    """A valid record whose whole document is ``depth`` levels deep."""
    return _with_field("[" * (depth - 2) + "]" * (depth - 2))


async def _post(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post(PATH, content=body, headers=HEADERS)


def _assert_decodes_as_sent(value: bytes, body: bytes) -> None:
    item = decode(Record(value))
    assert item.error is None, item.error
    assert item.envelope is not None
    assert item.envelope.payload == json.loads(body)["item"]


@pytest.mark.parametrize(
    "depth", [MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 150, 200, 230, 255, 256, 300, 1000, 100_000]
)
async def test_deep_nesting_is_400_or_decodes_in_the_processor(
    client: httpx.AsyncClient, publisher: SerializingPublisher, depth: int
) -> None:
    body = _nested(depth)
    response = await _post(client, body)
    if depth <= MAX_JSON_DEPTH:
        assert response.status_code == 202, response.text
        (value,) = publisher.values
        _assert_decodes_as_sent(value, body)
    else:
        assert response.status_code == 400, response.text
        assert response.json()["error_code"] == "malformed_payload"
        assert f"{MAX_JSON_DEPTH} levels" in response.json()["message"]
        assert publisher.values == []


@pytest.mark.parametrize(
    ("value_json", "status", "says"),
    [
        (r'"\ud800"', 400, "surrogate"),
        (r'"x\udc00y"', 400, "surrogate"),
        (r'{"\ud83d": 1}', 400, "surrogate"),
        ("1e999", 400, "out of range"),
        ("-1e999", 400, "out of range"),
        ("1e9999999", 400, "out of range"),
        ("NaN", 400, "not valid JSON"),
        ("-Infinity", 400, "not valid JSON"),
        ("1" + "0" * 5000, 400, "out of range"),
        (r'"a\u0000b"', 422, "U+0000"),
        (r'{"a\u0000": 1}', 422, "U+0000"),
    ],
)
async def test_unrepresentable_values_get_a_clear_4xx_and_are_not_published(
    client: httpx.AsyncClient,
    publisher: SerializingPublisher,
    value_json: str,
    status: int,
    says: str,
) -> None:
    response = await _post(client, _with_field(value_json))
    assert response.status_code == status, response.text
    assert says in response.json()["message"]
    assert publisher.values == []


@pytest.mark.parametrize(
    "value_json",
    [
        "1e-9999999",  # underflows to 0.0 in every JSON decoder: the same value downstream
        "1" + "0" * 4000,  # a big integer JSON can carry; the mirror's own bounds judge it
        r'"\ud83d\ude00"',  # a surrogate pair is one character (an emoji)
        "1.7976931348623157e308",
        "-0.0",
    ],
)
async def test_representable_extremes_are_accepted_and_decode_unchanged(
    client: httpx.AsyncClient, publisher: SerializingPublisher, value_json: str
) -> None:
    body = _with_field(value_json)
    response = await _post(client, body)
    assert response.status_code == 202, response.text
    (value,) = publisher.values
    _assert_decodes_as_sent(value, body)


async def test_a_client_that_disconnects_mid_body_is_not_a_server_error(
    app: FastAPI, publisher: SerializingPublisher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": HEAD.encode(), "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
        + [(b"content-length", b"100000")],
        "client": ("127.0.0.1", 50000),
        "server": ("ingest", 80),
    }
    # The counters live in the process-wide registry: compare before and after.
    before = {
        reason: _webhooks_counted(reason) for reason in ("internal_error", "client_disconnected")
    }
    await app(scope, receive, send)

    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert all(status < 500 for status in statuses), statuses
    assert publisher.values == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert _webhooks_counted("internal_error") == before["internal_error"]
    assert _webhooks_counted("client_disconnected") == before["client_disconnected"] + 1


def _webhooks_counted(reason: str) -> float:
    status = "500" if reason == "internal_error" else "499"
    labels = {"entity": "products", "status_code": status, "reason": reason}
    return REGISTRY.get_sample_value("tds_ingest_webhooks_total", labels) or 0.0


async def test_bad_utf8_in_a_form_field_is_400_not_silently_replaced(
    client: httpx.AsyncClient, publisher: SerializingPublisher
) -> None:
    # %FF is not UTF-8: decoding it leniently would publish U+FFFD in place of what was sent.
    form_json = quote(_with_field('"x"').decode()).replace("%22x%22", "%22%FF%22")
    response = await client.post(
        PATH,
        content=f"JSONString={form_json}".encode(),
        headers={"X-TDS-Webhook-Token": TOKEN, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "malformed_payload"
    assert publisher.values == []


async def test_a_utf8_byte_order_mark_before_the_json_is_tolerated(
    client: httpx.AsyncClient, publisher: SerializingPublisher
) -> None:
    body = _with_field('"bom"')
    response = await _post(client, b"\xef\xbb\xbf" + body)
    assert response.status_code == 202, response.text
    (value,) = publisher.values
    _assert_decodes_as_sent(value, body)
