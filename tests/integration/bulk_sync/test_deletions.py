"""Rows missing from Zoho are marked deleted only after a full run completed successfully."""

from __future__ import annotations

import asyncio
from typing import Any

from .conftest import MakeBulk
from .helpers import BulkSync, wait_runs


async def _live(bulk: BulkSync, table: str, id_column: str) -> set[str]:
    rows = await bulk.rows(table, id_column)
    return {k for k, r in rows.items() if r["deleted_at"] is None}


async def _wait_processed(bulk: BulkSync, run_id: str, at_least: int) -> None:
    for _ in range(600):
        run = (await bulk.api.get(f"/api/zoho/sync/runs/{run_id}")).json()
        assert run["status"] in ("pending", "running"), run
        if run["processed_items"] >= at_least:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the run made no progress")


async def test_deletions_only_after_a_complete_full_run(make_bulk: MakeBulk) -> None:
    async with make_bulk(per_page=50, proxy={"max_consecutive_failures": 2}) as bulk:
        first = await bulk.sync(
            mode="full", entities=["customers", "invoices", "products", "stock"]
        )
        assert all(r["status"] == "completed" for r in first)
        customers = sorted(await _live(bulk, "customers", "contact_id"))
        invoices = sorted(await _live(bulk, "invoices", "invoice_id"))
        items = sorted(await _live(bulk, "products", "item_id"))
        gone = {"customers": customers[5:7], "invoices": invoices[:1], "items": items[-1:]}
        for zoho_id in gone["customers"]:
            await bulk.zoho.delete(bulk.org, "contacts", zoho_id)
        await bulk.zoho.delete(bulk.org, "invoices", gone["invoices"][0])
        await bulk.zoho.delete(bulk.org, "items", gone["items"][0])

        # A full run that fails halfway (Zoho keeps answering 500) deletes nothing.
        await bulk.zoho.sim("PUT", "/_sim/faults", {"latency_seconds": 0.2})
        try:
            run = (await bulk.request(mode="full", entities=["customers"]))[0]
            await _wait_processed(bulk, run["id"], 50)
            await bulk.zoho.sim("PUT", "/_sim/faults", {"error_rate": 1.0, "latency_seconds": 0})
            failed = (await wait_runs(bulk.api, [run["id"]]))[0]
        finally:
            await bulk.zoho.sim("DELETE", "/_sim/faults")
        assert failed["status"] == "failed", failed
        assert "zoho-proxy failed 2 times" in failed["error_log"]
        assert 50 <= failed["processed_items"] < len(customers)
        assert set(customers) <= await _live(bulk, "customers", "contact_id")
        seen = await bulk.pool.fetchval(
            "SELECT count(*) FROM tds_sync_run_seen WHERE run_id = $1::uuid", failed["id"]
        )
        assert seen == 0  # an ended run leaves no scratch rows

        # The next full runs complete: exactly the deleted records are marked deleted.
        runs = await bulk.sync(mode="full", entities=["customers", "invoices", "products", "stock"])
        assert all(r["status"] == "completed" for r in runs), runs
        assert await _live(bulk, "customers", "contact_id") == set(customers) - set(
            gone["customers"]
        )
        assert await _live(bulk, "invoices", "invoice_id") == set(invoices) - set(gone["invoices"])
        assert await _live(bulk, "products", "item_id") == set(items) - set(gone["items"])
        deleted = {r["entity_type"]: r["checkpoint"][r["entity_type"]]["deleted"] for r in runs}
        assert deleted["customers"] == 2 and deleted["invoices"] == 1
        assert deleted["products"] == 1
        lines = await bulk.pool.fetch(
            "SELECT deleted_at FROM zoho.invoice_line_items WHERE org_id = $1 AND invoice_id = $2",
            bulk.org,
            gone["invoices"][0],
        )
        assert lines and all(r["deleted_at"] is not None for r in lines)
        stock = await bulk.pool.fetch(
            "SELECT deleted_at FROM zoho.stock_levels WHERE org_id = $1 AND item_id = $2",
            bulk.org,
            gone["items"][0],
        )
        assert all(r["deleted_at"] is not None for r in stock)
        assert deleted["stock"] == (1 if stock else 0)
        live_stock = await bulk.pool.fetchval(
            "SELECT count(DISTINCT item_id) FROM zoho.stock_levels WHERE org_id = $1 "
            "AND deleted_at IS NULL",
            bulk.org,
        )
        assert live_stock > 0


async def test_a_cancelled_run_stops_at_its_next_page_and_deletes_nothing(
    make_bulk: MakeBulk,
) -> None:
    async with make_bulk(per_page=20) as bulk:
        await bulk.zoho.sim("PUT", "/_sim/faults", {"latency_seconds": 0.1})
        try:
            run = (await bulk.request(mode="full", entities=["customers"]))[0]
            await _wait_processed(bulk, run["id"], 20)
            response = await bulk.api.post(f"/api/zoho/sync/runs/{run['id']}/cancel")
            assert response.status_code == 200 and response.json()["status"] == "cancelled"
        finally:
            await bulk.zoho.sim("DELETE", "/_sim/faults")
        # The worker notices at its next checkpoint; rows and counters commit together, so
        # whatever it did before, the mirror holds exactly the pages counted.
        await asyncio.sleep(0.5)
        final = await _run(bulk, run["id"])
        assert final["status"] == "cancelled" and final["processed_items"] < 300
        rows = await bulk.rows("customers", "contact_id")
        assert len(rows) == final["processed_items"]  # the rolled-back page wrote nothing
        assert all(r["deleted_at"] is None for r in rows.values())
        again = await bulk.api.post(f"/api/zoho/sync/runs/{run['id']}/cancel")
        assert again.status_code == 409
        unknown = await bulk.api.post(
            "/api/zoho/sync/runs/00000000-0000-0000-0000-000000000001/cancel"
        )
        assert unknown.status_code == 404
        # The worker moved on: the next command runs.
        follow = await bulk.sync(mode="selective", entities=["customers"], ids=[next(iter(rows))])
        assert follow[0]["status"] == "completed"


async def _run(bulk: BulkSync, run_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await bulk.api.get(f"/api/zoho/sync/runs/{run_id}")).json()
    return body


async def test_a_run_our_proxy_refuses_fails_at_once_and_deletes_nothing(
    make_bulk: MakeBulk,
) -> None:
    """A token zoho-proxy does not accept never starts working by waiting: one call, then the
    run fails naming the setting to fix (it used to retry 30 times, about ten minutes)."""
    wrong = "not-one-of-the-proxys-tokens-0123456789"
    fast_retries = {"retry_initial_seconds": 0.01, "retry_max_seconds": 0.01}
    async with make_bulk(
        proxy={"token": wrong, "max_consecutive_failures": 30, **fast_retries}
    ) as bulk:
        calls = len(bulk.zoho.proxy_calls)
        run = (await bulk.sync(mode="full", entities=["customers"]))[0]
        lists = [path for path, _ in bulk.zoho.proxy_calls[calls:] if path == "/v1/customers"]

    assert run["status"] == "failed", run
    assert "HTTP 401 unauthenticated" in run["error_log"]
    assert "BULK_SYNC_PROXY__TOKEN" in run["error_log"] and wrong not in run["error_log"]
    assert lists == ["/v1/customers"]
