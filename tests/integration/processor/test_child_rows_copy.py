"""Child rows go in by COPY (issue 18): every value arrives as the JSON path delivered it."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import asyncpg

from tds_common.mirror import map_change, write_changes
from tests.unit.mirror import factories as f

HOSTILE = 'tab\there, line\nbreak, return\rchar, back\\slash, \\N, quote " and é ☕'


async def test_line_items_with_every_separator_in_their_text_arrive_unchanged(
    db_pool: asyncpg.Pool,
) -> None:
    invoice_id = str(260815000000000000 + uuid.uuid4().int % 10**12)
    record = f.invoice(invoice_id, lines=2)
    record["line_items"][0].update(name=HOSTILE, description="", rate="1,200.50")
    mapped = map_change(f.change("invoices", invoice_id, record))
    async with db_pool.acquire() as conn, conn.transaction():
        assert await write_changes(conn, [mapped]) == {0}
    rows = await db_pool.fetch(
        "SELECT line_item_id, name, description, rate, item_order, raw::text AS raw, "
        "zoho_last_modified_time, synced_at FROM zoho.invoice_line_items "
        "WHERE invoice_id = $1 ORDER BY line_item_id",
        invoice_id,
    )
    assert [r["line_item_id"] for r in rows] == [i["line_item_id"] for i in record["line_items"]]
    first = rows[0]
    assert first["name"] == HOSTILE
    assert first["description"] is None  # "" is NULL in text columns, as before
    assert first["rate"] == Decimal("1200.50") and first["item_order"] == 1
    assert json.loads(first["raw"]) == record["line_items"][0]
    assert first["zoho_last_modified_time"] == mapped.modified
    assert first["synced_at"] is not None
