"""Incremental and selective runs, and the API's answers to bad requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .helpers import BulkSync


async def _synced_at(bulk: BulkSync, table: str, id_column: str) -> dict[str, object]:
    return {k: r["synced_at"] for k, r in (await bulk.rows(table, id_column)).items()}


async def test_incremental_picks_up_only_edits_since_the_high_water_mark(bulk: BulkSync) -> None:
    full = await bulk.sync(mode="full", entities=["customers", "invoices"])
    assert [r["status"] for r in full] == ["completed", "completed"]
    customers = sorted(await bulk.zoho.index(bulk.org, "customers"))
    invoices = sorted(await bulk.zoho.index(bulk.org, "invoices"))
    before = {
        "customers": await _synced_at(bulk, "customers", "contact_id"),
        "invoices": await _synced_at(bulk, "invoices", "invoice_id"),
    }
    edited = {"customers": customers[3:6], "invoices": invoices[10:12]}
    for zoho_id in edited["customers"]:
        await bulk.zoho.edit(bulk.org, "customers", zoho_id, {"phone": f"+1-555-{zoho_id[-4:]}"})
    for zoho_id in edited["invoices"]:
        await bulk.zoho.edit(bulk.org, "invoices", zoho_id, {"reference_number": f"R-{zoho_id}"})

    runs = await bulk.sync(mode="incremental", entities=["customers", "invoices"])

    for run in runs:
        assert run["status"] == "completed" and run["run_type"] == "incremental", run
        entity = run["entity_type"]
        # Listed: the edits plus the record(s) sitting exactly at the old high-water mark.
        assert len(edited[entity]) <= run["total_items"] <= len(edited[entity]) + 2, run
        checkpoint = run["checkpoint"][entity]
        previous = full[0 if entity == "customers" else 1]["checkpoint"][entity]["high_water"]
        assert datetime.fromisoformat(checkpoint["since"]) == datetime.fromisoformat(previous)
    table, id_column = "customers", "contact_id"
    after = await _synced_at(bulk, table, id_column)
    assert {k for k in after if after[k] != before["customers"][k]} == set(edited["customers"])
    rows = await bulk.rows(table, id_column)
    for zoho_id in edited["customers"]:
        assert rows[zoho_id]["phone"] == f"+1-555-{zoho_id[-4:]}"
    after_invoices = await _synced_at(bulk, "invoices", "invoice_id")
    changed = {k for k in after_invoices if after_invoices[k] != before["invoices"][k]}
    assert changed == set(edited["invoices"])
    invoice_rows = await bulk.rows("invoices", "invoice_id")
    for zoho_id in edited["invoices"]:
        assert invoice_rows[zoho_id]["reference_number"] == f"R-{zoho_id}"
        assert "line_items" in invoice_rows[zoho_id]["raw"]  # the detail, not the summary
    invoice_run = runs[1]
    assert invoice_run["api_calls"] == 1 + len(edited["invoices"])  # one page, two details

    # An explicit since after every edit lists nothing new.
    later = await bulk.sync(
        mode="incremental", entities=["customers"], since="2099-01-01T00:00:00+0000"
    )
    assert later[0]["status"] == "completed" and later[0]["total_items"] == 0


async def test_selective_syncs_exactly_the_ids(bulk: BulkSync) -> None:
    invoices = sorted(await bulk.zoho.index(bulk.org, "invoices"))
    wanted = invoices[20:23]
    absent = "460099999999999999"
    runs = await bulk.sync(mode="selective", entities=["invoices"], ids=[*wanted, absent])
    run = runs[0]
    assert run["status"] == "completed" and run["run_type"] == "selective"
    assert run["total_items"] == run["processed_items"] == 4 and run["api_calls"] == 4
    rows = await bulk.rows("invoices", "invoice_id")
    assert {k for k, r in rows.items() if r["deleted_at"] is None} == set(wanted)
    assert absent not in rows or rows[absent]["deleted_at"] is not None
    lines = await bulk.pool.fetch(
        "SELECT DISTINCT invoice_id FROM zoho.invoice_line_items WHERE org_id = $1", bulk.org
    )
    assert {r["invoice_id"] for r in lines} == set(wanted)

    items = sorted(await bulk.zoho.index(bulk.org, "stock"))[:2]
    stock_run = (await bulk.sync(mode="selective", entities=["stock"], ids=items))[0]
    assert stock_run["status"] == "completed" and stock_run["api_calls"] == 1  # one itemdetails
    stock_items = await bulk.pool.fetch(
        "SELECT DISTINCT item_id FROM zoho.stock_levels WHERE org_id = $1", bulk.org
    )
    assert {r["item_id"] for r in stock_items} == set(items)
    assert await bulk.rows("products", "item_id") == {}  # stock writes no product rows


async def test_bad_requests_are_refused_before_anything_is_queued(bulk: BulkSync) -> None:
    cases: list[tuple[dict[str, Any], int]] = [
        ({"mode": "sideways"}, 422),
        ({"mode": "selective", "entities": ["invoices"]}, 422),
        ({"mode": "selective", "entities": ["invoices", "bills"], "ids": ["1"]}, 422),
        ({"mode": "selective", "entities": ["invoices"], "ids": ["abc"]}, 422),
        ({"mode": "incremental", "since": "yesterday"}, 422),
        ({"mode": "full", "ids": ["1"]}, 422),
        ({"mode": "full", "org_id": "not-a-number"}, 422),
        ({"mode": "full", "unexpected": True}, 422),
        ({"mode": "full", "entities": ["widgets"]}, 404),
    ]
    for body, status in cases:
        response = await bulk.api.post("/api/zoho/bulk-sync", json={"org_id": bulk.org, **body})
        assert response.status_code == status, (body, response.text)
    count = await bulk.pool.fetchval(
        "SELECT count(*) FROM tds_sync_runs WHERE org_id = $1", bulk.org
    )
    assert count == 0
    missing = await bulk.api.get("/api/zoho/sync/runs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["error_code"] == "not_found"
    assert (await bulk.api.get("/api/zoho/sync/runs/not-a-uuid")).status_code == 404

    runs = await bulk.request(mode="incremental", entities=["warehouses", "prices"])
    listed = (await bulk.api.get("/api/zoho/sync/runs", params={"limit": 2})).json()
    assert {r["id"] for r in listed} == {r["id"] for r in runs}
    assert all(r["status"] in ("pending", "running", "completed") for r in listed)
    assert (await bulk.api.get("/api/zoho/sync/runs", params={"limit": 0})).status_code == 422
