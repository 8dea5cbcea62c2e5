"""The dead-letter rows never fail on the record's own bytes (the last line of defence)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from processor.records import Item
from processor.store import record_dead_letter
from tds_common.errors import InvalidMessageError
from tds_common.events import EventEnvelope
from tests.integration.processor.helpers import new_org


@dataclass
class Record:
    topic: str = "t\x00opic"
    partition: int = 0
    offset: int = 7
    key: bytes | None = None
    value: bytes | None = b"{}"


async def test_a_dead_letter_with_nuls_in_every_text_is_recorded_spelled_out(
    db_pool: asyncpg.Pool,
) -> None:
    org = new_org()
    # Built without validation: whatever reaches this point must still be parkable.
    envelope = EventEnvelope.model_construct(
        event_id="e\x00",
        org_id=org,
        entity="products",
        zoho_id="77\x00",
        op="upsert",
        source="webhook",
        received_at=datetime.now(UTC),
        last_modified_time=None,
        payload={"name": "a\x00b"},
    )
    item = Item(Record(), envelope=envelope, error=InvalidMessageError("bad \x00 byte"))
    async with db_pool.acquire() as conn:
        queue_id = await record_dead_letter(conn, item, datetime.now(UTC))
    row = await db_pool.fetchrow(
        "SELECT q.status, q.zoho_entity_id, q.error_message, q.kafka_topic, i.event_id, "
        "i.raw_payload FROM tds_sync_queue q JOIN tds_inbox_events i ON i.id = q.inbox_event_id "
        "WHERE q.id = $1",
        queue_id,
    )
    assert row is not None and row["status"] == "dead_letter"
    assert row["zoho_entity_id"] == "77\\u0000" and row["event_id"] == "e\\u0000"
    assert row["kafka_topic"] == "t\\u0000opic" and "bad \\u0000 byte" in row["error_message"]
    assert row["raw_payload"] is None  # jsonb cannot hold it; the DLQ keeps the bytes
