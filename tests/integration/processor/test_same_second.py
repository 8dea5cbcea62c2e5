"""Two edits in one second, through the real read path: the mirror ends with what Zoho holds.

Zoho stamps ``last_modified_time`` to the second. The simulator (uvicorn in a thread) makes a
second edit in the same second with ``?same_second=true``; a real zoho-proxy (another thread)
serves the processor's reads and the bulk pages. Webhooks are fed to the processor's
``BatchProcessor`` one Kafka record at a time, as its consumer would; bulk pages go through
bulk-sync's own decision (``stored.need``) and stamping (``PageResult``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import asyncpg
import httpx
import pytest
from aiokafka import TopicPartition
from aiokafka.structs import RecordMetadata
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulk_sync.context import PageResult
from bulk_sync.stored import need
from processor.pipeline import BatchProcessor
from processor.proxy import RecordFetcher
from processor.reads import ThinReads
from processor.records import Item
from tds_common.catalogue import get_entity
from tds_common.events import EventEnvelope, format_zoho_timestamp, parse_zoho_timestamp
from tds_common.mirror import Change, write_changes
from tds_common.mirror.reads import stored_rows
from tds_common.proxy_client import ProxyClient
from tds_common.settings import TopicSettings
from tests.integration.processor.helpers import processor_settings
from tests.utils.zoho import (
    PROXY_AUTH,
    proxy_settings,
    sim_settings,
    unique_org,
    unique_refresh_token,
)
from zoho_proxy.app import create_app as create_proxy_app
from zoho_sim.settings import LimitSettings, OrgSettings
from zoho_sim.testing import run_in_thread, serve_app_in_thread

DETAIL_READS: Final = "GET /books/v3/invoices/{id}"
UNFINISHED: Final = frozenset({"pending", "deferred", "held"})


@dataclass
class Zoho:
    org: str
    sim_url: str
    proxy_url: str


@pytest.fixture(scope="module", name="zoho")
def fixture_zoho(database_url: str) -> Iterator[Zoho]:
    org = unique_org()
    refresh_token = unique_refresh_token()
    sim = sim_settings(
        refresh_token,
        [OrgSettings(organization_id=org, daily_quota=10**7)],
        scale=5,
        limits=LimitSettings(per_minute=10**6),
    )
    with run_in_thread(sim) as sim_url:
        proxy = proxy_settings(
            database_url,
            sim_url,
            zoho_refresh_token=refresh_token,
            zoho_organization_id=org,
            per_minute_limit=10**6,
            daily_limit=10**7,
        )
        with serve_app_in_thread(create_proxy_app(proxy)) as proxy_url:
            yield Zoho(org, sim_url, proxy_url)


@dataclass(frozen=True)
class KafkaRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class DeadLetters:
    published: list[Item] = field(default_factory=list)

    async def publish(
        self, item: Item, queue_id: int | None, *, cut: bool = False
    ) -> RecordMetadata:
        self.published.append(item)
        tp = TopicPartition("dlq", 0)
        return RecordMetadata("dlq", 0, tp, len(self.published) - 1, 0, 0, 0)


@dataclass
class Mirror:
    """The processor and a bulk page writer over one database, reading Zoho through the proxy."""

    zoho: Zoho
    pool: asyncpg.Pool
    processor: BatchProcessor
    sim: httpx.AsyncClient
    proxy: httpx.AsyncClient
    dead_letters: DeadLetters
    offsets: Iterator[int] = field(default_factory=lambda: iter(range(10**9)))

    async def edit(self, invoice_id: str, fields: dict[str, Any], *, same_second: bool) -> Any:
        """Edit in Zoho; returns the webhook payload Zoho would send (the record as edited)."""
        response = await self.sim.patch(
            f"/_sim/orgs/{self.zoho.org}/invoices/{invoice_id}",
            json=fields,
            params={"same_second": str(same_second).lower()},
        )
        response.raise_for_status()
        return response.json()["record"]

    async def deliver(
        self, record: dict[str, Any], *, op: str = "upsert", received_at: datetime | None = None
    ) -> Item:
        """A webhook through the processor, retried as its consumer would until done."""
        stamp = record.get("last_modified_time")
        envelope = EventEnvelope(
            org_id=self.zoho.org,
            entity="invoices",
            zoho_id=record["invoice_id"],
            op=op,
            source="webhook",
            received_at=received_at or datetime.now(UTC),
            last_modified_time=parse_zoho_timestamp(stamp) if stamp else None,
            payload=record,
        )
        kafka = KafkaRecord("events", 0, next(self.offsets), envelope.key, envelope.to_bytes())
        for _ in range(500):
            [item] = await self.processor.process([kafka])
            if item.outcome not in UNFINISHED:
                return item
            await asyncio.sleep(0.02)  # a read still running: its consumer would poll again
        raise AssertionError(f"the event never finished: {item.outcome} {item.error}")

    async def bulk_page(self, invoice_id: str, stamp: str) -> None:
        """An incremental bulk page that lists the invoice, written as bulk-sync writes it."""
        result = PageResult()  # before the list call, as bulk-sync does
        response = await self.proxy.get(
            "/v1/invoices",
            params={
                "per_page": "200",
                "sort_column": "last_modified_time",
                "sort_order": "A",
                "last_modified_time": stamp,
            },
            headers={"X-TDS-Org": self.zoho.org, "X-TDS-Lane": "incremental"},
        )
        response.raise_for_status()
        summary = next(r for r in response.json()["records"] if r["invoice_id"] == invoice_id)
        spec = get_entity("invoices")
        async with self.pool.acquire() as conn, conn.transaction():
            stored = await stored_rows(conn, spec, self.zoho.org, {invoice_id: summary})
            modified = parse_zoho_timestamp(summary["last_modified_time"])
            if need(spec, modified, stored.get(invoice_id)) == "write":
                change = Change(
                    entity="invoices",
                    org_id=self.zoho.org,
                    zoho_id=invoice_id,
                    op="upsert",
                    record=summary,
                    source="books",
                )
                result.add(change)
                await write_changes(conn, result.changes)

    async def zoho_record(self, invoice_id: str) -> dict[str, Any]:
        response = await self.sim.get(f"/_sim/orgs/{self.zoho.org}/invoices/{invoice_id}")
        response.raise_for_status()
        record: dict[str, Any] = response.json()
        return record

    async def detail_reads(self) -> int:
        counters = (await self.sim.get("/_sim/counters")).json()
        return int(counters["calls"].get(DETAIL_READS, {}).get("200", 0))

    async def new_invoice(self) -> dict[str, Any]:
        response = await self.sim.post(f"/_sim/orgs/{self.zoho.org}/invoices", json={})
        response.raise_for_status()
        record: dict[str, Any] = response.json()["record"]
        return record

    async def assert_mirrors_zoho(self, invoice_id: str) -> None:
        expected = await self.zoho_record(invoice_id)
        row = await self.pool.fetchrow(
            "SELECT * FROM zoho.invoices WHERE org_id = $1 AND invoice_id = $2",
            self.zoho.org,
            invoice_id,
        )
        assert row is not None and row["deleted_at"] is None
        assert {k: row["raw"].get(k) for k in expected} == expected
        assert row["reference_number"] == (expected.get("reference_number") or None)
        assert row["salesperson_name"] == (expected.get("salesperson_name") or None)
        assert row["zoho_last_modified_time"] == parse_zoho_timestamp(
            expected["last_modified_time"]
        )
        lines = await self.pool.fetch(
            "SELECT line_item_id FROM zoho.invoice_line_items WHERE org_id = $1 "
            "AND invoice_id = $2 AND deleted_at IS NULL",
            self.zoho.org,
            invoice_id,
        )
        assert {r["line_item_id"] for r in lines} == {
            str(line["line_item_id"]) for line in expected["line_items"]
        }


@asynccontextmanager
async def _mirror(zoho: Zoho, pool: asyncpg.Pool, database_url: str) -> AsyncIterator[Mirror]:
    config = processor_settings(
        database_url, "127.0.0.1:0", TopicSettings(), zoho_proxy_url=zoho.proxy_url
    )
    async with (
        httpx.AsyncClient(base_url=zoho.proxy_url, headers=PROXY_AUTH, timeout=30) as proxy_http,
        httpx.AsyncClient(base_url=zoho.sim_url, timeout=30) as sim,
    ):
        reads = ThinReads(RecordFetcher(ProxyClient(proxy_http)), 4)
        dead_letters = DeadLetters()
        processor = BatchProcessor(pool, reads, dead_letters, config)  # type: ignore[arg-type]
        try:
            yield Mirror(zoho, pool, processor, sim, proxy_http, dead_letters)
            # Only versions too far ahead of our clock may be parked, none else.
            parked = [i.error.error_code if i.error else None for i in dead_letters.published]
            assert set(parked) <= {"future_version"}
        finally:
            await reads.close()


async def test_a_second_edit_in_the_same_second_wins_in_either_order(
    zoho: Zoho, db_pool: asyncpg.Pool, database_url: str
) -> None:
    async with _mirror(zoho, db_pool, database_url) as mirror:
        for late_first in (False, True):
            invoice = await mirror.new_invoice()
            invoice_id = invoice["invoice_id"]
            a = {"reference_number": "A", "salesperson_name": "Ann"}
            b = {"reference_number": "B", "salesperson_name": ""}  # cleared in the second edit
            first = await mirror.edit(invoice_id, a, same_second=False)
            second = await mirror.edit(invoice_id, b, same_second=True)
            assert first["last_modified_time"] == second["last_modified_time"]
            reads = await mirror.detail_reads()
            order = [second, first] if late_first else [first, second]
            outcomes = [(await mirror.deliver(payload)).outcome for payload in order]
            assert outcomes == ["applied", "applied"]
            await mirror.assert_mirrors_zoho(invoice_id)
            assert await mirror.detail_reads() == reads + 1  # the conflict cost one read
            # A redelivery of either changes nothing. The content Zoho no longer holds costs a
            # read: its webhook may be a third edit in that second going back to it (A, B, A),
            # which only Zoho can tell from a redelivery; the one the mirror holds is free.
            again = [(await mirror.deliver(payload)).outcome for payload in order]
            assert again == ["duplicate", "duplicate"]
            assert await mirror.detail_reads() == reads + 2
            await mirror.assert_mirrors_zoho(invoice_id)


async def test_an_edit_back_to_an_earlier_content_in_the_same_second_is_mirrored(
    zoho: Zoho, db_pool: asyncpg.Pool, database_url: str
) -> None:
    """Edits A, B, A in one second: the third webhook repeats the first one's content and
    version, so the inbox holds it already; the mirror, which holds B by then, still ends with
    A (it was left with B, silently, when the repeat was taken for a redelivery)."""
    async with _mirror(zoho, db_pool, database_url) as mirror:
        invoice = await mirror.new_invoice()
        invoice_id = invoice["invoice_id"]
        a = {"reference_number": "A", "salesperson_name": ""}
        b = {"reference_number": "A", "salesperson_name": "Ann"}
        first = await mirror.edit(invoice_id, a, same_second=True)
        assert (await mirror.deliver(invoice)).outcome == "applied"
        second = await mirror.edit(invoice_id, b, same_second=True)
        assert (await mirror.deliver(first)).outcome == "applied"  # read: B
        third = await mirror.edit(invoice_id, a, same_second=True)
        assert first == third  # one content, one version: one dedup key
        assert (await mirror.deliver(second)).outcome in ("applied", "duplicate")
        assert (await mirror.deliver(third)).outcome == "applied"
        await mirror.assert_mirrors_zoho(invoice_id)


async def test_a_delete_webhook_without_a_version_is_checked_with_zoho(
    zoho: Zoho, db_pool: asyncpg.Pool, database_url: str
) -> None:
    async with _mirror(zoho, db_pool, database_url) as mirror:
        invoice = await mirror.new_invoice()
        invoice_id = invoice["invoice_id"]
        await mirror.deliver(invoice)
        unversioned = {"invoice_id": invoice_id}
        assert (await mirror.deliver(unversioned, op="delete")).outcome == "applied"
        await mirror.assert_mirrors_zoho(invoice_id)  # Zoho still has it: alive
        await mirror.sim.delete(f"/_sim/orgs/{zoho.org}/invoices/{invoice_id}")
        assert (await mirror.deliver(unversioned, op="delete")).outcome == "applied"
        deleted = await db_pool.fetchval(
            "SELECT deleted_at IS NOT NULL FROM zoho.invoices WHERE org_id = $1 "
            "AND invoice_id = $2",
            zoho.org,
            invoice_id,
        )
        assert deleted


async def test_a_version_far_in_the_future_is_dead_lettered(
    zoho: Zoho, db_pool: asyncpg.Pool, database_url: str
) -> None:
    async with _mirror(zoho, db_pool, database_url) as mirror:
        invoice = await mirror.new_invoice()
        await mirror.deliver(invoice)
        future = format_zoho_timestamp(datetime.now(UTC) + timedelta(days=400))
        item = await mirror.deliver({**invoice, "last_modified_time": future, "status": "void"})
        assert item.outcome == "dead_letter" and mirror.dead_letters.published == [item]
        assert item.error is not None and item.error.error_code == "future_version"
        assert "ahead of our clock" in str(item.error)
        await mirror.assert_mirrors_zoho(invoice["invoice_id"])  # the row is not frozen


EDIT: Final = st.fixed_dictionaries(
    {
        "reference_number": st.sampled_from(["R1", "R2", "R3"]),
        "salesperson_name": st.sampled_from(["", "Ann", "Bo"]),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.booleans(), EDIT, st.integers(1, 3)), min_size=1, max_size=4),
    data=st.data(),
)
async def test_same_second_contents_webhooks_and_bulk_pages_in_any_order_end_as_zoho(
    zoho: Zoho,
    db_pool: asyncpg.Pool,
    database_url: str,
    edits: list[tuple[bool, dict[str, Any], int]],
    data: st.DataObject,
) -> None:
    """Edits (some in the same second as the one before, with different content), each
    webhook delivered a few steps later in any order, bulk pages in between: the mirror ends
    equal to Zoho."""
    async with _mirror(zoho, db_pool, database_url) as mirror:
        invoice = await mirror.new_invoice()
        invoice_id = invoice["invoice_id"]
        lines = invoice["line_items"]
        # The first edit after creation always shares its second: the property's core.
        edits[0] = (True, edits[0][1], edits[0][2])
        payloads: list[dict[str, Any]] = [invoice]
        due: dict[int, list[int]] = {1: [0]}
        for step, (same_second, fields, delay) in enumerate(edits, start=1):
            kept = min(data.draw(st.integers(1, 4), label="line items kept"), len(lines))
            fields = {**fields, "line_items": lines[:kept]}
            payloads.append(await mirror.edit(invoice_id, fields, same_second=same_second))
            due.setdefault(min(step + delay, len(edits) + 1), []).append(step)
            actions: list[tuple[str, int]] = [("webhook", i) for i in due.pop(step, [])]
            if data.draw(st.booleans(), label=f"bulk page after edit {step}"):
                actions.append(("bulk", 0))
            for kind, index in data.draw(st.permutations(actions), label=f"order {step}"):
                if kind == "bulk":
                    await mirror.bulk_page(invoice_id, invoice["last_modified_time"])
                else:
                    await mirror.deliver(payloads[index])
        leftover = [i for step in sorted(due) for i in due[step]]
        for index in data.draw(st.permutations(leftover), label="late webhooks"):
            await mirror.deliver(payloads[index])
        await mirror.assert_mirrors_zoho(invoice_id)
