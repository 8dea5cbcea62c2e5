"""``POST /api/zoho/bulk-sync`` with an ``idempotency_key``: a repeat starts nothing.

The ZohoSync operator POSTs and then patches the resource's status; a crash in between makes it
POST again for the same resource and schedule slot, with the same key (tests/k8s kills a real
operator there). Here the API's side: repeats, concurrent repeats, a key reused for another
request, and a request Kafka refused, whose key must not hold on to runs that never ran.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from aiokafka.errors import KafkaConnectionError

from .helpers import BulkSync, wait_runs

KEY = "zohosync-0b5c6a8e-5e7d-4f7a-9a51-1d2b3c4d5e6f-gen-1"


async def _runs_with_key(bulk: BulkSync, key: str) -> list[dict[str, Any]]:
    rows = await bulk.pool.fetch(
        "SELECT id::text, status FROM tds_sync_runs WHERE org_id = $1 AND idempotency_key = $2",
        bulk.org,
        key,
    )
    return [dict(row) for row in rows]


async def test_a_repeated_key_answers_the_first_runs_and_starts_none(bulk: BulkSync) -> None:
    body = {
        "org_id": bulk.org,
        "mode": "full",
        "entities": ["warehouses", "prices"],
        "idempotency_key": KEY,
    }
    first = await bulk.api.post("/api/zoho/bulk-sync", json=body)
    assert first.status_code == 202, first.text
    ended = await wait_runs(bulk.api, [run["id"] for run in first.json()["runs"]])
    assert [run["status"] for run in ended] == ["completed", "completed"]

    again = await bulk.api.post("/api/zoho/bulk-sync", json=body)
    assert again.status_code == 200, again.text
    assert again.json()["request_id"] == first.json()["request_id"]
    assert [run["id"] for run in again.json()["runs"]] == [run["id"] for run in ended]
    assert [run["entity_type"] for run in again.json()["runs"]] == ["warehouses", "prices"]
    assert all(run["idempotency_key"] == KEY for run in again.json()["runs"])
    assert len(await _runs_with_key(bulk, KEY)) == 2
    count = await bulk.pool.fetchval(
        "SELECT count(*) FROM tds_sync_runs WHERE org_id = $1", bulk.org
    )
    assert count == 2
    # The same key in another organization is another request.
    other = await bulk.api.post(
        "/api/zoho/bulk-sync", json={**body, "org_id": "79999999999", "entities": ["warehouses"]}
    )
    assert other.status_code == 202, other.text


async def test_concurrent_repeats_of_one_key_create_one_set_of_runs(bulk: BulkSync) -> None:
    body = {
        "org_id": bulk.org,
        "mode": "incremental",
        "entities": ["warehouses"],
        "idempotency_key": KEY,
    }
    answers = await asyncio.gather(
        *(bulk.api.post("/api/zoho/bulk-sync", json=body) for _ in range(4))
    )
    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 202]
    assert len({answer.json()["runs"][0]["id"] for answer in answers}) == 1
    assert len(await _runs_with_key(bulk, KEY)) == 1


async def test_a_key_reused_for_another_request_is_refused(bulk: BulkSync) -> None:
    body = {
        "org_id": bulk.org,
        "mode": "incremental",
        "entities": ["warehouses"],
        "idempotency_key": KEY,
    }
    assert (await bulk.api.post("/api/zoho/bulk-sync", json=body)).status_code == 202
    for change in ({"mode": "full"}, {"entities": ["warehouses", "prices"]}):
        refused = await bulk.api.post("/api/zoho/bulk-sync", json={**body, **change})
        assert refused.status_code == 409, refused.text
        assert refused.json()["error_code"] == "idempotency_key_reused"
    for bad in ("", "has space", "x" * 201):
        refused = await bulk.api.post("/api/zoho/bulk-sync", json={**body, "idempotency_key": bad})
        assert refused.status_code == 422, bad
    assert len(await _runs_with_key(bulk, KEY)) == 1


class _RefusingProducer:
    async def send_and_wait(self, *_: Any, **__: Any) -> None:
        raise KafkaConnectionError("broker unreachable")


async def test_a_request_kafka_refused_frees_its_key(bulk: BulkSync) -> None:
    body = {"org_id": bulk.org, "mode": "full", "entities": ["warehouses"], "idempotency_key": KEY}
    state = bulk.app.state.bulk_sync
    bulk.app.state.bulk_sync = replace(state, producer=_RefusingProducer())
    try:
        refused = await bulk.api.post("/api/zoho/bulk-sync", json=body)
    finally:
        bulk.app.state.bulk_sync = state
    assert refused.status_code == 503, refused.text
    assert await _runs_with_key(bulk, KEY) == []

    retried = await bulk.api.post("/api/zoho/bulk-sync", json=body)
    assert retried.status_code == 202, retried.text
    ended = await wait_runs(bulk.api, [run["id"] for run in retried.json()["runs"]])
    assert ended[0]["status"] == "completed"
    statuses = await bulk.pool.fetch(
        "SELECT status FROM tds_sync_runs WHERE org_id = $1 ORDER BY requested_at", bulk.org
    )
    assert [row["status"] for row in statuses] == ["failed", "completed"]
