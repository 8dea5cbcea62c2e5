"""Zoho's webhook for TDS's own write (an echo) changes nothing in the mirror and is counted;
a later edit of the same record is an ordinary webhook."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from tds_common.echo import _ECHOES_SQL, ECHOES
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


def _outbox_scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes of ``plan`` that read tds_outbox."""
    found = [plan] if plan.get("Relation Name") == "tds_outbox" else []
    for child in plan.get("Plans", []):
        found += _outbox_scans(child)
    return found


async def test_the_echo_check_looks_records_up_without_scanning_the_outbox(
    db_pool: asyncpg.Pool,
) -> None:
    """Every batch of pushed upserts asks the outbox for applied writes of its records; the outbox
    keeps 30 days of applied rows, so a scan of it made every batch slower as the ERP wrote more
    (there was no index on the record's key before migration 0017)."""
    org = new_org()
    ids = [str(260815000000000000 + n) for n in (7, 70, 700)]
    stamp = "2026-01-01T00:00:00+0000"
    async with db_pool.acquire() as conn:
        kept_nothing = conn.transaction()  # rolled back: the rows never reach other tests
        await kept_nothing.start()
        try:
            await conn.execute(
                "INSERT INTO tds_outbox (org_id, entity, op, local_ref, zoho_id, idempotency_key, "
                "status, result, applied_at) SELECT $1, 'customers', 'create', 'erp-' || g, "
                "(260815000000000000 + g)::text, 'key-' || g, 'applied', "
                "jsonb_build_object('last_modified_time', $2::text), now() "
                "FROM generate_series(1, 50000) g",
                org,
                stamp,
            )
            await conn.execute("ANALYZE tds_outbox")
            args = ([org] * 3, ["customers"] * 3, ids)
            raw = await conn.fetchval(
                f"EXPLAIN (FORMAT JSON) {_ECHOES_SQL}", *args, [stamp] * 3, [0, 1, 2]
            )
            # The third record's webhook carries a later stamp: an edit in Zoho, not an echo.
            found = await conn.fetch(
                _ECHOES_SQL, *args, [stamp, stamp, "2026-02-01T00:00:00+0000"], [0, 1, 2]
            )
        finally:
            await kept_nothing.rollback()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    scans = _outbox_scans(plan)
    # Found by the record's key: not a scan of the table, nor of all the org's rows of the entity
    # (what the index for a local_ref's ordering gave: every row of them read per record).
    assert scans and all("zoho_id" in scan.get("Index Cond", "") for scan in scans), plan
    assert sorted(r["i"] for r in found) == [0, 1]  # the third's stamp is a later edit
