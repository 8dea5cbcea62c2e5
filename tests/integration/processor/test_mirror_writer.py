"""The shared write path against real PostgreSQL: columns, monotonic rule, children, deletes."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from tds_common.catalogue import ENTITIES, get_entity
from tds_common.mirror import Change, map_change, write_changes
from tests.unit.mirror import factories as f


def _id() -> str:
    return str(260815000000000000 + uuid.uuid4().int % 10**12)


async def _write(pool: asyncpg.Pool, *changes: Change) -> set[int]:
    mapped = [map_change(c) for c in changes]
    async with pool.acquire() as conn, conn.transaction():
        return await write_changes(conn, mapped)


async def _row(pool: asyncpg.Pool, sql: str, *args: Any) -> asyncpg.Record:
    row = await pool.fetchrow(sql, *args)
    assert row is not None
    return row


@pytest.mark.parametrize(
    "entity", [name for name, spec in ENTITIES.items() if spec.kind == "record" and spec.versioned]
)
async def test_every_typed_column_of_the_catalogue_is_written(
    db_pool: asyncpg.Pool, entity: str
) -> None:
    spec = get_entity(entity)
    zoho_id = _id()
    assert await _write(db_pool, f.change(entity, zoho_id, f.from_catalogue(zoho_id, entity))) == {
        0
    }
    row = await _row(db_pool, f"SELECT * FROM {spec.table} WHERE {spec.id_field} = $1", zoho_id)
    assert [c.name for c in spec.columns if row[c.name] is None] == []
    if spec.child is not None:
        children = await db_pool.fetch(
            f"SELECT * FROM {spec.child.table} WHERE {spec.id_field} = $1", zoho_id
        )
        assert len(children) == 2
        assert [c.name for c in spec.child.columns if children[0][c.name] is None] == []


async def test_every_entity_lands_in_its_tables_and_columns(db_pool: asyncpg.Pool) -> None:
    ids = {name: _id() for name in [*f.BUILDERS, "warehouses"]}
    changes = [f.change(name, ids[name], build(ids[name])) for name, build in f.BUILDERS.items()]
    changes.append(
        f.change(
            "warehouses", ids["warehouses"], f.warehouse(ids["warehouses"]), source="inventory"
        )
    )
    assert await _write(db_pool, *changes) == set(range(len(changes)))

    product = await _row(db_pool, "SELECT * FROM zoho.products WHERE item_id = $1", ids["products"])
    assert product["org_id"] == f.ORG and product["name"] == "Widget"
    assert product["rate"] == Decimal("149.97") and product["purchase_rate"] == Decimal("80.50")
    assert product["stock_on_hand"] == Decimal("12.000") and product["reorder_level"] is None
    assert product["tax_id"] is None and product["track_inventory"] is True
    assert product["zoho_last_modified_time"].isoformat() == "2026-06-09T13:45:21+00:00"
    assert product["raw"]["custom_fields"] == [] and product["source"] == "webhook"
    assert product["deleted_at"] is None

    customer = await _row(
        db_pool, "SELECT * FROM zoho.customers WHERE contact_id = $1", ids["customers"]
    )
    assert customer["payment_terms"] == 30 and customer["mobile"] is None
    assert customer["outstanding_receivable_amount"] == Decimal("1200.5")

    invoice = await _row(
        db_pool, "SELECT * FROM zoho.invoices WHERE invoice_id = $1", ids["invoices"]
    )
    assert str(invoice["date"]) == "2026-06-09" and str(invoice["due_date"]) == "2026-07-09"
    assert invoice["total"] == 100 and invoice["raw"]["billing_address"]["zip"] == "94588"
    lines = await db_pool.fetch(
        "SELECT * FROM zoho.invoice_line_items WHERE invoice_id = $1 ORDER BY item_order",
        ids["invoices"],
    )
    assert [r["line_item_id"] for r in lines] == [f"{ids['invoices']}-L{n:03d}" for n in range(3)]
    assert lines[1]["rate"] == Decimal("11.5") and lines[1]["discount"] == 0
    assert lines[0]["warehouse_id"] == "260815000000070001" and lines[0]["org_id"] == f.ORG

    bill = await _row(db_pool, "SELECT * FROM zoho.bills WHERE bill_id = $1", ids["bills"])
    assert bill["vendor_name"] == "Acme Supplies" and bill["due_date"] is None
    bill_lines = await db_pool.fetch(
        "SELECT account_id FROM zoho.bill_line_items WHERE bill_id = $1", ids["bills"]
    )
    assert [r["account_id"] for r in bill_lines] == ["260815000000000388"] * 2

    note_lines = await db_pool.fetchval(
        "SELECT count(*) FROM zoho.credit_note_line_items WHERE creditnote_id = $1",
        ids["credit-notes"],
    )
    assert note_lines == 1

    stock = await db_pool.fetch(
        "SELECT * FROM zoho.stock_levels WHERE item_id = $1 ORDER BY warehouse_id", ids["stock"]
    )
    assert [r["warehouse_name"] for r in stock] == ["Warehouse 0", "Warehouse 1"]
    assert stock[0]["stock_on_hand"] == Decimal("5.000") and stock[0]["committed_stock"] == 1
    assert stock[0]["available_for_sale_stock"] is None

    prices = await _row(
        db_pool, "SELECT * FROM zoho.price_lists WHERE pricebook_id = $1", ids["prices"]
    )
    assert prices["is_default"] is False and prices["percentage"] is None
    price_items = await db_pool.fetch(
        "SELECT * FROM zoho.price_list_items WHERE pricebook_id = $1 ORDER BY item_id",
        ids["prices"],
    )
    assert [r["pricebook_rate"] for r in price_items] == [Decimal("9.99"), Decimal("10.99")]

    warehouse = await _row(
        db_pool, "SELECT * FROM zoho.warehouses WHERE warehouse_id = $1", ids["warehouses"]
    )
    assert warehouse["is_primary"] is True and warehouse["source"] == "inventory"
    assert warehouse["zoho_last_modified_time"] is None


async def test_older_versions_never_overwrite_newer_ones(db_pool: asyncpg.Pool) -> None:
    invoice_id = _id()
    newest = f.invoice(invoice_id, version=10, lines=2, status="paid")
    older = f.invoice(invoice_id, version=5, lines=5, status="sent")
    # Newest first, then an older one in a later batch and a duplicate of the newest.
    assert await _write(db_pool, f.change("invoices", invoice_id, newest)) == {0}
    assert await _write(db_pool, f.change("invoices", invoice_id, older)) == set()
    # Out of order within one batch: the newest wins, whatever its position.
    applied = await _write(
        db_pool,
        f.change("invoices", invoice_id, f.invoice(invoice_id, version=3, lines=1)),
        f.change("invoices", invoice_id, newest),
        f.change("invoices", invoice_id, older),
    )
    assert applied == {1}  # same version as stored: rewritten, same content
    row = await _row(
        db_pool, "SELECT status, raw FROM zoho.invoices WHERE invoice_id = $1", invoice_id
    )
    assert row["status"] == "paid"
    count = await db_pool.fetchval(
        "SELECT count(*) FROM zoho.invoice_line_items WHERE invoice_id = $1", invoice_id
    )
    assert count == 2  # children follow the winning parent only


async def test_children_are_replaced_only_with_a_winning_parent(db_pool: asyncpg.Pool) -> None:
    pricebook_id = _id()
    await _write(db_pool, f.change("prices", pricebook_id, f.price_list(pricebook_id, items=3)))
    newer = f.price_list(pricebook_id, version=5, items=1)
    await _write(db_pool, f.change("prices", pricebook_id, newer))
    items = await db_pool.fetch(
        "SELECT item_id FROM zoho.price_list_items WHERE pricebook_id = $1", pricebook_id
    )
    assert len(items) == 1
    # A newer parent without its child list keeps the stored children.
    bare = {
        k: v for k, v in f.price_list(pricebook_id, version=6).items() if k != "pricebook_items"
    }
    await _write(db_pool, f.change("prices", pricebook_id, bare))
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM zoho.price_list_items WHERE pricebook_id = $1", pricebook_id
        )
        == 1
    )


async def test_soft_deletes_are_monotonic_too(db_pool: asyncpg.Pool) -> None:
    bill_id = _id()
    await _write(db_pool, f.change("bills", bill_id, f.bill(bill_id, version=5)))
    stale_delete = {"bill_id": bill_id, "last_modified_time": f.stamp(1)}
    assert await _write(db_pool, f.change("bills", bill_id, stale_delete, op="delete")) == set()
    delete = {"bill_id": bill_id, "last_modified_time": f.stamp(5)}
    assert await _write(db_pool, f.change("bills", bill_id, delete, op="delete")) == {0}
    row = await _row(db_pool, "SELECT * FROM zoho.bills WHERE bill_id = $1", bill_id)
    assert row["deleted_at"] is not None and row["bill_number"] == f"BILL-{bill_id[-5:]}"
    assert await db_pool.fetchval(
        "SELECT bool_and(deleted_at IS NOT NULL) FROM zoho.bill_line_items WHERE bill_id = $1",
        bill_id,
    )
    # Redelivered upsert of the deleted version: stays deleted. A newer version revives it.
    assert await _write(db_pool, f.change("bills", bill_id, f.bill(bill_id, version=5))) == set()
    assert await _write(db_pool, f.change("bills", bill_id, f.bill(bill_id, version=6))) == {0}
    row = await _row(db_pool, "SELECT deleted_at FROM zoho.bills WHERE bill_id = $1", bill_id)
    assert row["deleted_at"] is None


async def test_delete_before_create_leaves_a_tombstone(db_pool: asyncpg.Pool) -> None:
    contact_id = _id()
    delete = {"contact_id": contact_id, "last_modified_time": f.stamp(9)}
    assert await _write(db_pool, f.change("customers", contact_id, delete, op="delete")) == {0}
    late = f.customer(contact_id, version=2)
    assert await _write(db_pool, f.change("customers", contact_id, late)) == set()
    row = await _row(db_pool, "SELECT * FROM zoho.customers WHERE contact_id = $1", contact_id)
    assert row["deleted_at"] is not None and row["contact_name"] is None


async def test_stock_follows_the_newest_item_detail(db_pool: asyncpg.Pool) -> None:
    item_id = _id()
    await _write(db_pool, f.change("stock", item_id, f.stock(item_id, version=5, warehouses=3)))
    # Older detail: ignored. Newer detail with fewer warehouses: the missing one is retired.
    old = f.stock(item_id, version=1, warehouses=1, on_hand="99")
    assert await _write(db_pool, f.change("stock", item_id, old)) == set()
    newer = f.stock(item_id, version=7, warehouses=2, on_hand="1.5", locations=True)
    assert await _write(db_pool, f.change("stock", item_id, newer)) == {0}
    rows = await db_pool.fetch(
        "SELECT warehouse_id, stock_on_hand, deleted_at FROM zoho.stock_levels "
        "WHERE item_id = $1 ORDER BY warehouse_id",
        item_id,
    )
    assert [(r["stock_on_hand"], r["deleted_at"] is None) for r in rows] == [
        (Decimal("1.5"), True),
        (Decimal("1.5"), True),
        (Decimal("5.000"), False),
    ]
    # Deleting the item retires every warehouse row.
    gone = {"item_id": item_id, "last_modified_time": f.stamp(8)}
    assert await _write(db_pool, f.change("stock", item_id, gone, op="delete")) == {0}
    alive = await db_pool.fetchval(
        "SELECT count(*) FROM zoho.stock_levels WHERE item_id = $1 AND deleted_at IS NULL",
        item_id,
    )
    assert alive == 0


async def test_a_summary_of_the_same_version_fills_gaps_and_never_clobbers(
    db_pool: asyncpg.Pool,
) -> None:
    invoice_id = _id()
    full = f.invoice(invoice_id, version=5, lines=2, salesperson_name="Ann")
    await _write(db_pool, f.change("invoices", invoice_id, full))
    # A list summary (bulk-sync): the same content without line items and address.
    summary = {k: v for k, v in full.items() if k not in ("line_items", "billing_address")}
    assert await _write(db_pool, f.change("invoices", invoice_id, summary, source="books")) == {0}
    row = await _row(db_pool, "SELECT * FROM zoho.invoices WHERE invoice_id = $1", invoice_id)
    assert row["salesperson_name"] == "Ann" and row["source"] == "books"
    assert len(row["raw"]["line_items"]) == 2 and row["raw"]["billing_address"]["zip"] == "94588"
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM zoho.invoice_line_items WHERE invoice_id = $1", invoice_id
        )
        == 2
    )
    # A newer version replaces the row (its own fields only).
    newer = {**summary, "salesperson_name": "", "last_modified_time": f.stamp(6)}
    await _write(db_pool, f.change("invoices", invoice_id, newer, source="books"))
    row = await _row(db_pool, "SELECT * FROM zoho.invoices WHERE invoice_id = $1", invoice_id)
    assert row["salesperson_name"] is None and "line_items" not in row["raw"]
