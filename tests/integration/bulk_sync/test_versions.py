"""What bulk-sync does with versions: a wrong deletion is undone, counts say what was written."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import REGISTRY

from tds_common.events import format_zoho_timestamp
from tds_common.mirror import Change, map_change, write_changes

from .conftest import MakeBulk
from .helpers import BulkSync


def _records(entity: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "tds_bulk_sync_records_total", {"entity": entity, "outcome": outcome}
    )
    return value or 0.0


async def _delete_by_mistake(
    bulk: BulkSync, entity: str, table: str, column: str, zoho_id: str
) -> None:
    """What a wrong sweep did: a delete at the stored version."""
    version = await bulk.pool.fetchval(
        f"SELECT zoho_last_modified_time FROM zoho.{table} WHERE org_id = $1 AND {column} = $2",
        bulk.org,
        zoho_id,
    )
    change = map_change(Change(entity, bulk.org, zoho_id, "delete", {}, "books", version))
    async with bulk.pool.acquire() as conn, conn.transaction():
        assert await write_changes(conn, [change]) == {0}


async def _alive(bulk: BulkSync, table: str, column: str, zoho_id: str) -> bool:
    deleted = await bulk.pool.fetchval(
        f"SELECT deleted_at IS NULL FROM zoho.{table} WHERE org_id = $1 AND {column} = $2",
        bulk.org,
        zoho_id,
    )
    return bool(deleted)


async def test_the_next_full_run_restores_a_row_deleted_by_mistake(make_bulk: MakeBulk) -> None:
    async with make_bulk() as bulk:
        first = await bulk.sync(mode="full", entities=["customers", "invoices"])
        assert all(r["status"] == "completed" for r in first), first
        contact_id = sorted(await bulk.rows("customers", "contact_id"))[3]
        invoice_id = sorted(await bulk.rows("invoices", "invoice_id"))[3]
        await _delete_by_mistake(bulk, "customers", "customers", "contact_id", contact_id)
        await _delete_by_mistake(bulk, "invoices", "invoices", "invoice_id", invoice_id)
        assert not await _alive(bulk, "invoices", "invoice_id", invoice_id)

        written = _records("customers", "written")
        again = await bulk.sync(mode="full", entities=["customers", "invoices"])
        assert all(r["status"] == "completed" for r in again), again
        assert await _alive(bulk, "customers", "contact_id", contact_id)
        assert await _alive(bulk, "invoices", "invoice_id", invoice_id)
        lines = await bulk.pool.fetchval(
            "SELECT count(*) FROM zoho.invoice_line_items WHERE org_id = $1 AND invoice_id = $2 "
            "AND deleted_at IS NULL",
            bulk.org,
            invoice_id,
        )
        in_zoho = await bulk.zoho.record(bulk.org, "invoices", invoice_id)
        assert lines == len(in_zoho["line_items"])
        assert _records("customers", "written") - written == 1  # the restored row, no other


async def test_a_selective_run_restores_a_row_deleted_by_mistake(make_bulk: MakeBulk) -> None:
    async with make_bulk() as bulk:
        await bulk.sync(mode="full", entities=["bills"])
        bill_id = sorted(await bulk.rows("bills", "bill_id"))[0]
        await _delete_by_mistake(bulk, "bills", "bills", "bill_id", bill_id)
        runs = await bulk.sync(mode="selective", entities=["bills"], ids=[bill_id])
        assert runs[0]["status"] == "completed", runs
        assert await _alive(bulk, "bills", "bill_id", bill_id)


async def test_a_write_the_mirror_refuses_is_counted_unchanged_not_written(
    make_bulk: MakeBulk,
) -> None:
    async with make_bulk() as bulk:
        await bulk.sync(mode="full", entities=["customers"])
        contact_id = sorted(await bulk.rows("customers", "contact_id"))[1]
        # A webhook of a later edit is in the mirror already; Zoho (the read) is older.
        row = (await bulk.rows("customers", "contact_id"))[contact_id]
        newer = {
            **row["raw"],
            "contact_name": "Newer",
            "last_modified_time": format_zoho_timestamp(
                row["zoho_last_modified_time"] + timedelta(minutes=5)
            ),
        }
        async with bulk.pool.acquire() as conn, conn.transaction():
            change = Change("customers", bulk.org, contact_id, "upsert", newer, "webhook")
            assert await write_changes(conn, [map_change(change)]) == {0}
        written, unchanged = _records("customers", "written"), _records("customers", "unchanged")
        runs = await bulk.sync(mode="selective", entities=["customers"], ids=[contact_id])
        assert runs[0]["status"] == "completed", runs
        assert _records("customers", "written") == written
        assert _records("customers", "unchanged") == unchanged + 1
        stored = (await bulk.rows("customers", "contact_id"))[contact_id]
        assert stored["contact_name"] == "Newer"


async def test_a_version_ahead_of_our_clock_is_skipped_counted_and_named(
    make_bulk: MakeBulk,
) -> None:
    async with make_bulk(max_version_skew_seconds=60) as bulk:
        await bulk.sync(mode="full", entities=["customers"])
        before = await bulk.rows("customers", "contact_id")
        contact_id, other_id = sorted(before)[:2]
        # Zoho's clock runs two minutes ahead of ours; we allow one.
        await bulk.zoho.sim("POST", "/_sim/clock", {"advance_seconds": 120})
        await bulk.zoho.edit(bulk.org, "contacts", contact_id, {"contact_name": "From the future"})
        runs = await bulk.sync(mode="selective", entities=["customers"], ids=[contact_id, other_id])
        run = runs[0]
        assert run["status"] == "completed", run
        assert run["failed_items"] == 1 and run["processed_items"] == 1
        assert contact_id in run["error_log"] and "ahead of our clock" in run["error_log"]
        after = await bulk.rows("customers", "contact_id")
        assert after[contact_id]["contact_name"] == before[contact_id]["contact_name"]
