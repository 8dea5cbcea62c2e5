"""Zoho's webhook for TDS's own write (an echo) changes nothing in the mirror and is counted;
a later edit of the same record is an ordinary webhook."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from tds_common.echo import ECHOES
from tds_common.mirror import Change, map_change, write_changes
from tds_common.settings import TopicSettings
from tests.integration.processor.helpers import (
    new_org,
    processor_settings,
    publish,
    running_processor,
)
from tests.unit.mirror import factories as f
from tests.utils.polling import wait_until


async def _written_by_tds(pool: asyncpg.Pool, org: str, zoho_id: str) -> None:
    """What the write-back relay leaves: the applied outbox row and the mirror row."""
    record = f.customer(zoho_id, version=1, contact_name="Written by TDS")
    await pool.execute(
        "INSERT INTO tds_outbox (org_id, entity, op, local_ref, zoho_id, payload, "
        "idempotency_key, status, result, applied_at) "
        "VALUES ($1, 'customers', 'create', 'erp-1', $2, $3::jsonb, $4, 'applied', $5::jsonb, "
        "now())",
        org,
        zoho_id,
        {"contact_name": "Written by TDS"},
        f"key-{uuid.uuid4().hex[:8]}",
        record,
    )
    change = Change(
        "customers",
        org,
        zoho_id,
        "upsert",
        record,
        "tds-write",
        observed_at=datetime.now(UTC),
        read=True,
    )
    async with pool.acquire() as conn, conn.transaction():
        assert await write_changes(conn, [map_change(change)]) == {0}


async def test_the_echo_of_a_tds_write_is_skipped_and_counted(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org, zoho_id = new_org(), str(260815000000000000 + uuid.uuid4().int % 10**12)
    await _written_by_tds(db_pool, org, zoho_id)
    query = "SELECT * FROM zoho.customers WHERE org_id = $1 AND contact_id = $2"
    before = dict(await db_pool.fetchrow(query, org, zoho_id) or {})
    echoes_before = ECHOES.labels("customers")._value.get()

    settings = processor_settings(database_url, kafka_bootstrap, topics)
    async with running_processor(settings):
        echo = f.customer(zoho_id, version=1, contact_name="Written by TDS")
        await publish(
            kafka_bootstrap, topics.events, [f.envelope("customers", zoho_id, echo, org_id=org)]
        )
        await wait_until(
            lambda: ECHOES.labels("customers")._value.get() > echoes_before,
            what="the echo recognised",
        )
        assert dict(await db_pool.fetchrow(query, org, zoho_id) or {}) == before

        later = f.customer(zoho_id, version=2, contact_name="Edited in Zoho")
        await publish(
            kafka_bootstrap, topics.events, [f.envelope("customers", zoho_id, later, org_id=org)]
        )

        async def edit_mirrored() -> bool:
            row = await db_pool.fetchrow(query, org, zoho_id)
            return row is not None and row["contact_name"] == "Edited in Zoho"

        await wait_until(edit_mirrored, what="the later edit mirrored")
    row = await db_pool.fetchrow(query, org, zoho_id)
    assert row is not None and row["source"] == "webhook"
    assert ECHOES.labels("customers")._value.get() == echoes_before + 1
