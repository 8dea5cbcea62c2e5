"""How every step of a run reads Zoho: records within the run's gate, stock in chunks, and
what a record Zoho no longer has becomes."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import httpx
import pytest

from bulk_sync.context import RunContext, gone_from_zoho
from bulk_sync.proxy import SyncProxy
from bulk_sync.settings import ProxySettings, SyncSettings
from bulk_sync.zoho_reads import read_records, read_stock
from tds_common.proxy_client import ProxyClient

ORG = "60012345678"


def context(handler: Any, *, chunk: int = 100, gate: int = 4) -> RunContext:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://proxy")
    proxy = SyncProxy(ProxyClient(http), ProxySettings(), asyncio.Event())
    return RunContext(
        pool=cast(asyncpg.Pool, None),  # the reads never touch the database
        proxy=proxy,
        settings=SyncSettings(itemdetails_chunk=chunk),
        run_id=uuid.uuid4(),
        org_id=ORG,
        entity="invoices",
        mode="incremental",
        started_at=datetime.now(UTC),
        detail_gate=asyncio.Semaphore(gate),
    )


async def test_stock_is_read_a_chunk_a_call_and_only_asked_items_that_exist_come_back() -> None:
    asked: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["item_ids"].split(",")
        asked.append(ids)
        items = [{"item_id": i} for i in ids if i != "3"] + [{"item_id": "99"}, {"name": "x"}]
        return httpx.Response(200, json={"code": 0, "items": items})

    found = await read_stock(context(handler, chunk=2), ["1", "2", "3", "4", "5"], "bulk")
    assert asked == [["1", "2"], ["3", "4"], ["5"]]
    assert list(found) == ["1", "2", "4", "5"]
    assert found["4"] == {"item_id": "4"}


async def test_records_are_read_within_the_runs_gate_in_the_order_asked() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)  # let the other reads start if the gate allows
        in_flight -= 1
        zoho_id = request.url.path.rsplit("/", 1)[1]
        if zoho_id == "2":
            return httpx.Response(404, json={"error_code": "not_found", "message": "gone"})
        record = {"invoice_id": zoho_id}
        body = {"entity": "invoices", "source": "books", "organization_id": ORG, "record": record}
        return httpx.Response(200, json=body)

    ids = [str(n) for n in range(1, 9)]
    found = await read_records(context(handler, gate=3), ids, "bulk")
    assert list(found) == ids
    assert found["2"] is None and found["5"] == ({"invoice_id": "5"}, "books")
    assert 1 < peak <= 3


@pytest.mark.parametrize(
    ("entity", "source"),
    [("invoices", "books"), ("warehouses", "inventory"), ("stock", "inventory")],
)
def test_a_record_zoho_no_longer_has_is_a_delete_from_its_own_product(
    entity: str, source: str
) -> None:
    """Every step that finds a record gone says so the same way (a selective run stamped a
    warehouse's deletion "books")."""
    ctx = replace(context(None), entity=entity)
    version = datetime(2026, 6, 9, 13, 45, 21, tzinfo=UTC)
    change = gone_from_zoho(ctx, "42", version)
    assert (change.entity, change.org_id, change.zoho_id) == (entity, ORG, "42")
    assert (change.op, change.record, change.source) == ("delete", {}, source)
    assert change.last_modified_time == version and change.observed_at is None
