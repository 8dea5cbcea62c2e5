"""What a version means in the mirror: same-second edits, version-less changes, tombstones.

Zoho's ``last_modified_time`` has one-second resolution: two edits in one second share it. These
tests pin down the rule of ``tds_common.mirror.rules`` against real PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from tds_common.mirror import Change, WriteOutcome, apply_changes, map_change
from tests.unit.mirror import factories as f

T0 = datetime(2026, 6, 9, 14, 0, tzinfo=UTC)


def _id() -> str:
    return str(260815000000000000 + uuid.uuid4().int % 10**12)


def _read(change: Change, seconds: int) -> Change:
    """The same change as a read of Zoho made ``seconds`` after T0."""
    return dataclasses.replace(change, read=True, observed_at=T0 + timedelta(seconds=seconds))


def _pushed(change: Change, seconds: int) -> Change:
    """The same change as a webhook received ``seconds`` after T0."""
    return dataclasses.replace(change, observed_at=T0 + timedelta(seconds=seconds))


async def _write(pool: asyncpg.Pool, *changes: Change) -> WriteOutcome:
    mapped = [map_change(c) for c in changes]
    async with pool.acquire() as conn, conn.transaction():
        return await apply_changes(conn, mapped)


async def _invoice(pool: asyncpg.Pool, invoice_id: str) -> dict[str, Any]:
    row = await pool.fetchrow("SELECT * FROM zoho.invoices WHERE invoice_id = $1", invoice_id)
    assert row is not None
    lines = await pool.fetchval(
        "SELECT count(*) FROM zoho.invoice_line_items WHERE invoice_id = $1 AND deleted_at IS NULL",
        invoice_id,
    )
    return {**dict(row), "live_lines": lines}


async def test_a_second_edit_in_the_same_second_is_a_conflict_never_a_silent_merge(
    db_pool: asyncpg.Pool,
) -> None:
    invoice_id = _id()
    first = f.invoice(invoice_id, version=5, status="sent", salesperson_name="Ann")
    await _write(db_pool, _pushed(f.change("invoices", invoice_id, first), 1))
    # Same second, another content: the salesperson was cleared and the status changed.
    second = {**first, "status": "paid", "salesperson_name": ""}
    outcome = await _write(db_pool, _pushed(f.change("invoices", invoice_id, second), 2))
    assert outcome.applied == set() and outcome.conflicts == {0}
    assert outcome.seen_at == {0: T0 + timedelta(seconds=1)}  # a read from then on settles it
    row = await _invoice(db_pool, invoice_id)
    assert row["status"] == "sent"  # untouched until a read settles it


async def test_a_read_settles_a_conflict_and_clears_what_zoho_cleared(
    db_pool: asyncpg.Pool,
) -> None:
    invoice_id = _id()
    first = f.invoice(invoice_id, version=5, status="sent", salesperson_name="Ann")
    await _write(db_pool, _pushed(f.change("invoices", invoice_id, first), 1))
    now = {**first, "status": "paid", "salesperson_name": "", "line_items": first["line_items"][:1]}
    outcome = await _write(db_pool, _read(f.change("invoices", invoice_id, now, source="books"), 3))
    assert outcome.applied == {0} and outcome.conflicts == set()
    row = await _invoice(db_pool, invoice_id)
    assert row["status"] == "paid" and row["salesperson_name"] is None
    assert row["raw"]["salesperson_name"] == "" and row["live_lines"] == 1
    assert row["observed_by"] == "read" and row["observed_at"] == T0 + timedelta(seconds=3)


async def test_an_older_read_never_overrides_content_seen_later(db_pool: asyncpg.Pool) -> None:
    invoice_id = _id()
    current = f.invoice(invoice_id, version=5, status="paid")
    await _write(db_pool, _pushed(f.change("invoices", invoice_id, current), 10))
    stale_read = {**current, "status": "sent"}
    outcome = await _write(db_pool, _read(f.change("invoices", invoice_id, stale_read), 4))
    assert outcome.applied == set() and outcome.conflicts == {0}
    assert (await _invoice(db_pool, invoice_id))["status"] == "paid"


async def test_identical_redeliveries_and_narrower_views_agree(db_pool: asyncpg.Pool) -> None:
    invoice_id = _id()
    full = f.invoice(invoice_id, version=5, lines=2, salesperson_name="Ann")
    await _write(db_pool, _pushed(f.change("invoices", invoice_id, full), 1))
    again = await _write(db_pool, _pushed(f.change("invoices", invoice_id, full), 2))
    summary = {k: v for k, v in full.items() if k not in ("line_items", "billing_address")}
    narrower = await _write(db_pool, f.change("invoices", invoice_id, summary, source="books"))
    assert again.applied == narrower.applied == {0}
    assert again.conflicts == narrower.conflicts == set()
    row = await _invoice(db_pool, invoice_id)
    assert row["salesperson_name"] == "Ann" and row["live_lines"] == 2


async def test_two_contents_of_one_version_in_one_batch_are_both_conflicts(
    db_pool: asyncpg.Pool,
) -> None:
    contact_id = _id()
    a = f.customer(contact_id, version=3, email="a@example.com")
    b = f.customer(contact_id, version=3, email="b@example.com")
    outcome = await _write(
        db_pool,
        _pushed(f.change("customers", contact_id, a), 1),
        _pushed(f.change("customers", contact_id, b), 2),
    )
    assert outcome.applied == set() and outcome.conflicts == {0, 1}
    assert outcome.seen_at == dict.fromkeys((0, 1), T0 + timedelta(seconds=2))
    row = await db_pool.fetchrow("SELECT 1 FROM zoho.customers WHERE contact_id = $1", contact_id)
    assert row is None


async def test_a_change_without_a_version_never_overwrites_a_versioned_row(
    db_pool: asyncpg.Pool,
) -> None:
    item_id = _id()
    await _write(db_pool, f.change("products", item_id, f.product(item_id, version=4, name="A")))
    unversioned = {**f.product(item_id, name="B"), "last_modified_time": ""}
    assert (await _write(db_pool, f.change("products", item_id, unversioned))).applied == set()
    delete = f.change("products", item_id, {"item_id": item_id}, op="delete")
    assert (await _write(db_pool, delete)).applied == set()
    row = await db_pool.fetchrow("SELECT * FROM zoho.products WHERE item_id = $1", item_id)
    assert row is not None and row["name"] == "A" and row["deleted_at"] is None
    # A read that found it gone (zoho-proxy 404) is what Zoho says now: it wins.
    assert (await _write(db_pool, _read(delete, 5))).applied == {0}
    row = await db_pool.fetchrow("SELECT * FROM zoho.products WHERE item_id = $1", item_id)
    assert row is not None and row["deleted_at"] is not None
    assert row["zoho_last_modified_time"] == f.BASE_TIME + timedelta(minutes=4)


async def test_a_row_deleted_by_mistake_comes_back_when_a_read_shows_it_alive(
    db_pool: asyncpg.Pool,
) -> None:
    bill_id = _id()
    bill = f.bill(bill_id, version=5, lines=2)
    await _write(db_pool, _pushed(f.change("bills", bill_id, bill), 1))
    # A full run's sweep (a read of the list that did not show it) deletes it at its version.
    sweep = f.change("bills", bill_id, {}, op="delete", source="books")
    sweep = dataclasses.replace(
        _read(sweep, 2), last_modified_time=f.BASE_TIME + timedelta(minutes=5)
    )
    assert (await _write(db_pool, sweep)).applied == {0}
    # A webhook redelivered at that version does not revive it ...
    assert (await _write(db_pool, _pushed(f.change("bills", bill_id, bill), 3))).applied == set()
    # ... a later list summary of the same version does, with its line items.
    summary = {k: v for k, v in bill.items() if k != "line_items"}
    listed = _read(f.change("bills", bill_id, summary, source="books"), 4)
    assert (await _write(db_pool, listed)).applied == {0}
    row = await db_pool.fetchrow("SELECT * FROM zoho.bills WHERE bill_id = $1", bill_id)
    assert row is not None and row["deleted_at"] is None
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM zoho.bill_line_items WHERE bill_id = $1 AND deleted_at IS NULL",
            bill_id,
        )
        == 2
    )


async def test_stock_of_one_version_follows_reads_and_flags_pushed_disagreement(
    db_pool: asyncpg.Pool,
) -> None:
    item_id = _id()
    first = f.stock(item_id, version=5, warehouses=2, on_hand="4")
    await _write(db_pool, _pushed(f.change("stock", item_id, first), 1))
    # A stock movement that did not bump the item's version: another content, same version.
    moved = f.stock(item_id, version=5, warehouses=2, on_hand="3")
    outcome = await _write(db_pool, _pushed(f.change("stock", item_id, moved), 2))
    assert outcome.conflicts == {0}
    assert (await _write(db_pool, _read(f.change("stock", item_id, moved), 3))).applied == {0}
    on_hand = await db_pool.fetch(
        "SELECT stock_on_hand FROM zoho.stock_levels WHERE item_id = $1 AND deleted_at IS NULL",
        item_id,
    )
    assert [r["stock_on_hand"] for r in on_hand] == [Decimal(3), Decimal(3)]
    # Deleted by mistake, then read alive at the same version: restored.
    gone = dataclasses.replace(
        _read(f.change("stock", item_id, {}, op="delete"), 4),
        last_modified_time=f.BASE_TIME + timedelta(minutes=5),
    )
    assert (await _write(db_pool, gone)).applied == {0}
    assert (await _write(db_pool, _read(f.change("stock", item_id, moved), 5))).applied == {0}
    alive = await db_pool.fetchval(
        "SELECT count(*) FROM zoho.stock_levels WHERE item_id = $1 AND deleted_at IS NULL "
        "AND warehouse_id <> ''",
        item_id,
    )
    assert alive == 2
