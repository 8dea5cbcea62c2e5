"""A full sync mirrors every record of the seeded dataset into the right tables."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from tds_common.catalogue import ENTITIES
from zoho_sim.entities import SPECS

from .conftest import SCALE, serve_zoho
from .helpers import BulkSync, Zoho

RECORDS = [spec for spec in ENTITIES.values() if spec.kind == "record"]
"""Every entity with a row per Zoho record (stock is rows per item and warehouse)."""
DOCUMENT_SCALE = 40
"""Documents per module: each costs a detail read, and every new document entity adds its own;
paging is proven by the 300 items and contacts (two pages each)."""


@pytest.fixture(scope="module", name="zoho")
def fixture_zoho(database_url: str) -> Iterator[Zoho]:
    child_lists = {spec.child.list_field for spec in RECORDS if spec.child is not None}
    documents = [path for path, spec in SPECS.items() if child_lists & spec.summary_drops]
    with serve_zoho(database_url, scale=dict.fromkeys(documents, DOCUMENT_SCALE)) as zoho:
        yield zoho


async def test_full_sync_mirrors_every_record(bulk: BulkSync) -> None:
    runs = await bulk.sync(mode="full")  # every entity, the default

    assert sorted(r["entity_type"] for r in runs) == sorted(ENTITIES)
    for run in runs:
        assert run["status"] == "completed", run
        assert run["run_type"] == "full"
        assert run["processed_items"] == run["total_items"] > 0, run
        assert run["failed_items"] == 0 and run["api_calls"] > 0
        assert run["checkpoint"][run["entity_type"]]["done"] is True
        assert run["started_at"] and run["completed_at"]

    for spec in RECORDS:
        zoho = await bulk.zoho.index(bulk.org, spec.name)
        rows = await bulk.rows(spec.table.removeprefix("zoho."), spec.id_field)
        assert set(rows) == set(zoho), spec.name
        for zoho_id, modified in zoho.items():
            row = rows[zoho_id]
            assert row["zoho_last_modified_time"] == modified, (spec.name, zoho_id)
            assert row["deleted_at"] is None and row["source"] == spec.products[0]
    assert len(await bulk.rows("products", "item_id")) == SCALE

    # Line items came from the details: exactly Zoho's, per document.
    invoice_id = sorted(await bulk.zoho.index(bulk.org, "invoices"))[7]
    detail = await bulk.zoho.record(bulk.org, "invoices", invoice_id)
    lines = await bulk.pool.fetch(
        "SELECT line_item_id FROM zoho.invoice_line_items WHERE org_id = $1 AND invoice_id = $2",
        bulk.org,
        invoice_id,
    )
    assert {r["line_item_id"] for r in lines} == {li["line_item_id"] for li in detail["line_items"]}
    # Every document got its child rows from its detail.
    for spec in RECORDS:
        if spec.child is None or spec.name == "prices":  # fixed-percentage lists have no items
            continue
        key = spec.id_field
        childless = await bulk.pool.fetchval(
            f"SELECT count(*) FROM {spec.table} p WHERE p.org_id = $1 AND NOT EXISTS "
            f"(SELECT 1 FROM {spec.child.table} c WHERE c.org_id = p.org_id AND c.{key} = p.{key})",
            bulk.org,
        )
        assert childless == 0, spec.child.table

    # Stock per item and warehouse equals Inventory's item details.
    items = await bulk.zoho.item_details(bulk.org, sorted(await bulk.zoho.index(bulk.org, "stock")))
    expected = {
        (item["item_id"], wh["warehouse_id"]): str(wh["warehouse_stock_on_hand"])
        for item in items
        for wh in item.get("warehouses") or ()
    }
    stock = await bulk.pool.fetch(
        "SELECT item_id, warehouse_id, stock_on_hand::text AS on_hand, source "
        "FROM zoho.stock_levels WHERE org_id = $1 AND deleted_at IS NULL",
        bulk.org,
    )
    assert expected and {(r["item_id"], r["warehouse_id"]) for r in stock} == set(expected)
    assert {r["source"] for r in stock} == {"inventory"}
    for r in stock:
        assert float(r["on_hand"]) == float(expected[(r["item_id"], r["warehouse_id"])])

    # A second full run finds everything current: no rows rewritten, no detail reads.
    before = await bulk.pool.fetchval(
        "SELECT max(synced_at) FROM zoho.invoices WHERE org_id = $1", bulk.org
    )
    again = await bulk.sync(mode="full", entities=["invoices", "customers"])
    assert all(r["status"] == "completed" for r in again)
    calls = Counter({r["entity_type"]: r["api_calls"] for r in again})
    assert calls["invoices"] == 1  # 40 documents: one list page, no detail read
    assert calls["customers"] == 2  # 300 records: two list pages
    after = await bulk.pool.fetchval(
        "SELECT max(synced_at) FROM zoho.invoices WHERE org_id = $1", bulk.org
    )
    assert after == before
