"""ingest against the real broker: what is accepted is in the topic, what is rejected is not."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from ingest.auth import sign
from ingest.errors import PublishUnavailableError
from tds_common.catalogue import WEBHOOK_ENTITIES, get_entity
from tds_common.events import EventEnvelope, parse_zoho_timestamp
from tds_common.settings import TopicSettings
from tests.conftest import free_port
from tests.integration.ingest.conftest import (
    ORG,
    STAMP,
    TOKEN,
    ingest_client,
    make_settings,
    read_topic,
)

pytestmark = pytest.mark.integration

AUTH = {"X-TDS-Webhook-Token": TOKEN}


def _record(entity: str, zoho_id: str) -> dict[str, Any]:
    spec = get_entity(entity)
    return {spec.id_field: zoho_id, "last_modified_time": STAMP, "name": f"{entity} {zoho_id}"}


async def test_each_entity_is_published_with_key_envelope_and_trace(
    kafka_bootstrap: str, topics: TopicSettings
) -> None:
    sent: dict[str, dict[str, Any]] = {}
    async with ingest_client(make_settings(kafka_bootstrap, topics)) as client:
        for number, entity in enumerate(WEBHOOK_ENTITIES, start=1):
            spec = get_entity(entity)
            record = _record(entity, f"46000000000{number:02d}")
            response = await client.post(
                f"/api/zoho/webhooks/{entity}", json={spec.module_key: record}, headers=AUTH
            )
            assert response.status_code == 202, response.text
            sent[response.json()["event_id"]] = {"entity": entity, "record": record}

    records = await read_topic(kafka_bootstrap, topics.events)
    assert len(records) == len(WEBHOOK_ENTITIES)
    for message in records:
        envelope = EventEnvelope.from_bytes(message.value)
        expected = sent[envelope.event_id]
        spec = get_entity(expected["entity"])
        zoho_id = expected["record"][spec.id_field]
        assert message.key == f"{ORG}:{spec.name}:{zoho_id}".encode()
        assert envelope.org_id == ORG
        assert envelope.entity == spec.name
        assert envelope.zoho_id == zoho_id
        assert envelope.op == "upsert"
        assert envelope.source == "webhook"
        assert envelope.last_modified_time == parse_zoho_timestamp(STAMP)
        assert envelope.payload == expected["record"]
        headers = dict(message.headers)
        assert headers["traceparent"].decode().startswith("00-")


async def test_form_encoded_delete_with_org_param_and_hmac(
    kafka_bootstrap: str, topics: TopicSettings
) -> None:
    settings = make_settings(
        kafka_bootstrap, topics, webhook_hmac_secrets=["hmac-key-for-tests-01"]
    )
    record = _record("invoices", "99")
    body = urlencode({"JSONString": json.dumps({"invoice": record})}).encode()
    async with ingest_client(settings) as client:
        unsigned = await client.post(
            f"/api/zoho/webhooks/invoices?token={TOKEN}&org_id=800000002&op=delete",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        signed = await client.post(
            f"/api/zoho/webhooks/invoices?token={TOKEN}&org_id=800000002&op=delete",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Zoho-Webhook-Signature": sign(body, "hmac-key-for-tests-01"),
            },
        )
    assert unsigned.status_code == 401
    assert signed.status_code == 202, signed.text
    (message,) = await read_topic(kafka_bootstrap, topics.events)
    envelope = EventEnvelope.from_bytes(message.value)
    assert message.key == b"800000002:invoices:99"
    assert (envelope.op, envelope.event_id) == ("delete", signed.json()["event_id"])
    assert envelope.payload == record


P = "/api/zoho/webhooks/products?token=T"
GOOD_ITEM = {"item": _record("products", "1")}
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BAD_INPUTS: list[tuple[str, str, dict[str, Any], int]] = [
    ("no token", "/api/zoho/webhooks/products", {"json": GOOD_ITEM}, 401),
    ("wrong token", "/api/zoho/webhooks/products?token=not-it", {"json": GOOD_ITEM}, 401),
    ("unknown entity", "/api/zoho/webhooks/salesorders?token=T", {"json": {}}, 404),
    ("sync-only entity", "/api/zoho/webhooks/warehouses?token=T", {"json": {}}, 404),
    ("malformed json", P, {"content": b'{"item": ', "headers": JSON}, 400),
    ("bad op", P + "&op=purge", {"json": GOOD_ITEM}, 400),
    ("bad org", P + "&org_id=a:b", {"json": GOOD_ITEM}, 400),
    ("too large", P, {"json": {"item": {**GOOD_ITEM["item"], "blob": "x" * 5000}}}, 413),
    ("wrong media type", P, {"content": b"x", "headers": {"Content-Type": "text/plain"}}, 415),
    ("missing id", P, {"json": {"item": {"last_modified_time": STAMP}}}, 422),
    ("missing last_modified_time", P, {"json": {"item": {"item_id": "1"}}}, 422),
    ("wrong module key", P, {"json": {"invoice": _record("invoices", "1")}}, 422),
    ("form without JSONString", P, {"content": b"item_id=1", "headers": FORM}, 422),
]


async def test_bad_inputs_are_rejected_and_nothing_is_published(
    kafka_bootstrap: str, topics: TopicSettings
) -> None:
    settings = make_settings(kafka_bootstrap, topics, max_body_bytes=4096)
    async with ingest_client(settings) as client:
        for name, path, kwargs, status in BAD_INPUTS:
            response = await client.post(path.replace("token=T", f"token={TOKEN}"), **kwargs)
            assert response.status_code == status, (name, response.text)
            body = response.json()
            assert body["error_code"] and body["message"], name
            assert TOKEN not in response.text, name
        # A good one last: the topic works, so "nothing published" is not an empty-topic accident.
        good = await client.post(
            "/api/zoho/webhooks/products", json={"item": _record("products", "7")}, headers=AUTH
        )
        assert good.status_code == 202
        stats = (await client.get("/api/zoho/webhooks/inbox/stats", headers=AUTH)).json()
    stats = stats["windows"]["5m"]

    records = await read_topic(kafka_bootstrap, topics.events)
    assert [EventEnvelope.from_bytes(r.value).event_id for r in records] == [
        good.json()["event_id"]
    ]
    assert stats["received"] == len(BAD_INPUTS) + 1
    assert stats["accepted"] == 1
    assert stats["rejected"] == len(BAD_INPUTS)
    assert stats["rejected_by_reason"]["unauthorized"] == 2
    assert stats["by_entity"]["unknown"]["rejected"] == 2


async def test_ready_reports_the_broker_and_the_topic(
    kafka_bootstrap: str, topics: TopicSettings
) -> None:
    async with ingest_client(make_settings(kafka_bootstrap, topics)) as client:
        ready = await client.get("/ready")
    assert ready.status_code == 200
    # The topics are as durable as configured (KAFKA__* for the suite's single broker).
    assert ready.json()["checks"] == {"kafka": "ok", "kafka_topics": "ok"}

    missing = topics.model_copy(update={"events": topics.events + ".missing"})
    async with ingest_client(make_settings(kafka_bootstrap, missing)) as client:
        not_ready = await client.get("/ready")
    assert not_ready.status_code == 503
    assert "does not exist" in not_ready.json()["checks"]["kafka"]


async def test_startup_gives_up_with_a_clear_error_when_kafka_is_unreachable(
    topics: TopicSettings,
) -> None:
    settings = make_settings(f"127.0.0.1:{free_port()}", topics, kafka_start_timeout_seconds=1.0)
    with pytest.raises(PublishUnavailableError, match="Kafka unreachable for 1 s at startup"):
        async with ingest_client(settings):
            pass


async def test_event_larger_than_kafka_accepts_is_413_not_503(
    kafka_bootstrap: str, topics: TopicSettings
) -> None:
    # The body limit is set above the producer's 1 MiB request limit on purpose: a 503 here
    # would make Zoho retry an event that can never fit, forever.
    settings = make_settings(kafka_bootstrap, topics, max_body_bytes=4 * 1024 * 1024)
    huge = {"item": {**_record("products", "5"), "description": "x" * (1536 * 1024)}}
    async with ingest_client(settings) as client:
        response = await client.post("/api/zoho/webhooks/products", json=huge, headers=AUTH)
    assert response.status_code == 413, response.text
    assert response.json()["error_code"] == "payload_too_large"
    assert await read_topic(kafka_bootstrap, topics.events) == []
