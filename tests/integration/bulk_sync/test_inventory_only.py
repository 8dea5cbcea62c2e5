"""Products only Zoho Inventory has: listed after Books', merged by id, never swept."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import httpx
import pytest

from tds_common.events import parse_zoho_timestamp
from tds_common.mirror import Change, map_change, write_changes
from tests.utils.zoho import PROXY_AUTH

from .conftest import SCALE, MakeBulk, serve_zoho
from .helpers import BulkSync, Zoho

INVENTORY_ONLY: Final = 20


@pytest.fixture(scope="module", name="zoho")
def fixture_zoho(database_url: str) -> Iterator[Zoho]:
    with serve_zoho(database_url, inventory_only_items=INVENTORY_ONLY) as zoho:
        yield zoho


async def _ids(zoho: Zoho, org: str, source: str | None) -> set[str]:
    """Every item id one product lists, by plain paging through the proxy."""
    ids: set[str] = set()
    async with httpx.AsyncClient(base_url=zoho.proxy_url, headers=PROXY_AUTH, timeout=60) as client:
        page = 1
        while True:
            params: dict[str, str | int] = {"page": page, "per_page": 200}
            if source:
                params["source"] = source
            response = await client.get("/v1/products", params=params, headers={"X-TDS-Org": org})
            response.raise_for_status()
            body = response.json()
            ids.update(str(r["item_id"]) for r in body["records"])
            if not body["page_context"]["has_more_page"]:
                return ids
            page += 1


def _list_calls(zoho: Zoho, since: int, source: str) -> int:
    calls = zoho.proxy_calls[since:]
    inventory = [c for c in calls if c[0] == "/v1/products" and "source=inventory" in c[1]]
    if source == "inventory":
        return len(inventory)
    return len([c for c in calls if c[0] == "/v1/products"]) - len(inventory)


async def _write_webhook(bulk: BulkSync, item_id: str) -> None:
    """What the processor does with an Inventory webhook for the item."""
    record = await bulk.zoho.record(bulk.org, "items", item_id)
    modified = parse_zoho_timestamp(record["last_modified_time"])
    change = Change("products", bulk.org, item_id, "upsert", record, "webhook", modified)
    async with bulk.pool.acquire() as conn, conn.transaction():
        await write_changes(conn, [map_change(change)])


async def test_a_full_run_mirrors_inventory_only_items_and_sweeps_none_of_them(
    make_bulk: MakeBulk,
) -> None:
    async with make_bulk() as bulk:
        books = await _ids(bulk.zoho, bulk.org, None)
        everything = await _ids(bulk.zoho, bulk.org, "inventory")
        only_inventory = everything - books
        assert len(only_inventory) == INVENTORY_ONLY and len(everything) == SCALE
        webhook_written = sorted(only_inventory)[0]
        await _write_webhook(bulk, webhook_written)
        calls_before = len(bulk.zoho.proxy_calls)

        run = (await bulk.sync(mode="full", entities=["products"]))[0]

        assert run["status"] == "completed", run
        assert run["checkpoint"]["products"].get("deleted", 0) == 0
        rows = await bulk.rows("products", "item_id")
        assert set(rows) == everything
        assert all(r["deleted_at"] is None for r in rows.values())
        assert {rows[i]["source"] for i in books} == {"books"}
        for item_id in only_inventory - {webhook_written}:
            assert rows[item_id]["source"] == "inventory"
            assert rows[item_id]["raw"]["is_combo_product"] is True
        # Each product listed its items once: ceil(records / 200) list calls per source.
        assert _list_calls(bulk.zoho, calls_before, "books") == -(-len(books) // 200)
        assert _list_calls(bulk.zoho, calls_before, "inventory") == -(-len(everything) // 200)


async def test_an_incremental_run_picks_up_inventory_only_edits(make_bulk: MakeBulk) -> None:
    async with make_bulk() as bulk:
        await bulk.sync(mode="full", entities=["products"])
        only_inventory = sorted(
            await _ids(bulk.zoho, bulk.org, "inventory") - await _ids(bulk.zoho, bulk.org, None)
        )
        edited = only_inventory[3]
        await bulk.zoho.edit(bulk.org, "items", edited, {"name": "Gift basket (kit)"})
        created = (
            await bulk.zoho.sim("POST", f"/_sim/orgs/{bulk.org}/items", {"is_combo_product": True})
        )["record"]

        run = (await bulk.sync(mode="incremental", entities=["products"]))[0]

        assert run["status"] == "completed", run
        rows = await bulk.rows("products", "item_id")
        assert rows[edited]["name"] == "Gift basket (kit)"
        assert rows[edited]["source"] == "inventory"
        assert rows[created["item_id"]]["source"] == "inventory"
        assert run["total_items"] <= 6  # the edits and the boundary records, not the catalogue
