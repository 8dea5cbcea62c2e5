"""Stock stays current when a stock movement does not bump the item's last_modified_time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from .conftest import SCALE, MakeBulk, serve_zoho
from .helpers import BulkSync, Zoho


@pytest.fixture(scope="module", name="zoho")
def fixture_zoho(database_url: str) -> Iterator[Zoho]:
    """Zoho where stock moves without touching the item (UNCONFIRMED either way)."""
    with serve_zoho(database_url, stock_bumps_item_last_modified=False) as zoho:
        yield zoho


async def _on_hand(bulk: BulkSync, item_id: str, warehouse_id: str) -> float:
    value = await bulk.pool.fetchval(
        "SELECT stock_on_hand FROM zoho.stock_levels WHERE org_id = $1 AND item_id = $2 "
        "AND warehouse_id = $3",
        bulk.org,
        item_id,
        warehouse_id,
    )
    return float(value)


async def _moved_items(bulk: BulkSync, count: int) -> list[tuple[str, str, int]]:
    """Move the stock of ``count`` tracked items (without a bump); (item, warehouse, on hand)."""
    tracked = await bulk.pool.fetch(
        "SELECT DISTINCT item_id, warehouse_id FROM zoho.stock_levels WHERE org_id = $1 "
        "ORDER BY item_id, warehouse_id",
        bulk.org,
    )
    moved = []
    for row in tracked[:: max(1, len(tracked) // count)][:count]:
        record = await bulk.zoho.sim(
            "POST",
            f"/_sim/orgs/{bulk.org}/stock",
            {
                "item_id": row["item_id"],
                "warehouse_id": row["warehouse_id"],
                "delta": 7,
            },
        )
        after = next(
            w for w in record["record"]["warehouses"] if w["warehouse_id"] == row["warehouse_id"]
        )
        moved.append((row["item_id"], row["warehouse_id"], after["warehouse_stock_on_hand"]))
    return moved


async def test_incremental_runs_refresh_stock_that_moved_without_a_bump(
    make_bulk: MakeBulk,
) -> None:
    async with make_bulk() as bulk:
        assert (await bulk.sync(mode="full", entities=["stock"]))[0]["status"] == "completed"
        moved = await _moved_items(bulk, 5)
        for item_id, warehouse_id, on_hand in moved:
            assert await _on_hand(bulk, item_id, warehouse_id) == on_hand - 7  # still stale

        run = (await bulk.sync(mode="incremental", entities=["stock"]))[0]

        assert run["status"] == "completed", run
        for item_id, warehouse_id, on_hand in moved:
            assert await _on_hand(bulk, item_id, warehouse_id) == on_hand
        tracked = await bulk.pool.fetchval(
            "SELECT count(DISTINCT item_id) FROM zoho.stock_levels WHERE org_id = $1", bulk.org
        )
        assert 0 < tracked <= SCALE
        assert run["checkpoint"]["stock"]["stock_refreshed"] >= tracked - 2  # the list brought
        # One list call plus one itemdetails call per 100 items.
        assert run["api_calls"] <= 2 + -(-tracked // 100) + 1


async def test_the_refresh_stays_within_its_cap_and_starts_with_the_stalest(
    make_bulk: MakeBulk,
) -> None:
    async with make_bulk(stock_refresh_max_calls=1, itemdetails_chunk=20) as bulk:
        await bulk.sync(mode="full", entities=["stock"])
        stalest = await bulk.pool.fetch(
            "SELECT item_id FROM zoho.stock_levels WHERE org_id = $1 GROUP BY item_id "
            "ORDER BY max(synced_at), item_id",
            bulk.org,
        )
        first = (await bulk.sync(mode="incremental", entities=["stock"]))[0]
        second = (await bulk.sync(mode="incremental", entities=["stock"]))[0]

        assert first["checkpoint"]["stock"]["stock_refreshed"] == 20
        assert second["checkpoint"]["stock"]["stock_refreshed"] == 20
        refreshed_by = await bulk.pool.fetch(
            "SELECT item_id FROM zoho.stock_levels WHERE org_id = $1 GROUP BY item_id "
            "HAVING min(synced_at) > $2",
            bulk.org,
            datetime.fromisoformat(first["started_at"]),
        )
        # The two runs refreshed the 40 stalest items, no others (besides the listed boundary).
        expected = {r["item_id"] for r in stalest[:40]}
        assert expected <= {r["item_id"] for r in refreshed_by}
