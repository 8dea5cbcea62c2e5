"""Processor throughput and webhook-to-row delay, against baselines measured in the same run.

Needs the local PostgreSQL and Kafka (``make up``, or the test fixtures' servers); works in a
scratch database and fresh topics of its own, removed afterwards. Two measurements, alternating
with the baseline in ``TDS_BENCH_ROUNDS`` rounds (the report shows each ratio's spread):

1. **Write path** (``BatchProcessor.prepare`` and ``write``: decode, map, one transaction per
   500-event batch with inbox + monotonic upserts + line items + queue rows; the next batch is
   prepared while the current one writes, as the consumer runs them) vs a **raw asyncpg COPY
   of the same rows**: the invoices, line items, inbox rows and queue rows that round's write
   path wrote, read back and copied, pre-typed, 500 events per transaction, with no conflict
   handling, into identically indexed tables. A second, stricter baseline copies the mirror rows
   only (parents and line items, no inbox or queue rows: the figure reported before the baseline
   covered every row the write path writes). Payloads: invoices with 4 line items, ~2 KB each.
2. **End to end through Kafka**: the whole service in this process draining a topic backlog
   (in the first ``TDS_BENCH_KAFKA_ROUNDS`` rounds), against the same round's COPY.

Webhook-to-row delay at steady rates is measured from outside, through ingest, by
``bench_e2e``. Environment: ``TDS_BENCH_DATABASE_URL`` (admin DSN, default the local stack's),
``TDS_BENCH_KAFKA_BOOTSTRAP``, ``TDS_BENCH_EVENTS`` (default 3000).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import psycopg

from bench.results import Results
from processor.collector import tuned_collector
from processor.deadletters import DeadLetterPublisher
from processor.pipeline import BatchProcessor
from processor.proxy import RecordFetcher
from processor.reads import ThinReads
from processor.settings import ConsumerSettings, Settings
from tds_common.catalogue import ENTITIES
from tds_common.columns import ChildSpec, Column, to_date, to_integer, to_numeric, to_timestamp
from tds_common.db import create_pool
from tds_common.events import EventEnvelope, format_zoho_timestamp
from tds_common.kafka import create_producer, ensure_topics
from tds_common.migrate import apply_migrations
from tds_common.mirror import map_change
from tds_common.proxy_client import ProxyClient
from tds_common.settings import TopicSettings
from tests.unit.mirror import factories as f
from tests.utils.kafka import SINGLE_BROKER

ADMIN_URL = os.environ.get(
    "TDS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:55432/postgres"
)
BOOTSTRAP = os.environ.get("TDS_BENCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
EVENTS = int(os.environ.get("TDS_BENCH_EVENTS", "3000"))
ROUNDS = int(os.environ.get("TDS_BENCH_ROUNDS", "3"))
"""COPY and write path alternate this many times; the median ratio damps a noisy machine."""
KAFKA_ROUNDS = int(os.environ.get("TDS_BENCH_KAFKA_ROUNDS", "2"))
"""Of those rounds, how many also drain a Kafka backlog through the whole service."""
BATCH = 500


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def _org(label: str) -> str:
    """A Zoho-style (numeric) organization id per label, so runs never share rows."""
    return str(90_000_000_000 + zlib.crc32(f"{label}-{uuid.uuid4()}".encode()))


def _events(org: str, count: int) -> list[EventEnvelope]:
    events = []
    for n in range(count):
        invoice_id = str(260815000000000000 + n)
        record = f.invoice(invoice_id, lines=4)
        record["last_modified_time"] = format_zoho_timestamp(datetime.now(UTC))
        events.append(f.envelope("invoices", invoice_id, record, org_id=org))
    return events


def _typed(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.convert in (to_numeric,):
        return Decimal(value)
    if column.convert is to_integer:
        return int(value)
    if column.convert is to_date:
        return date.fromisoformat(value)
    if column.convert is to_timestamp:
        return datetime.fromisoformat(value)
    return value


@dataclass
class CopyRows:
    """The mirror rows of a batch of invoice events, typed for a binary COPY."""

    parent_columns: list[str]
    parents: list[tuple[Any, ...]]
    child_columns: list[str]
    children: list[tuple[Any, ...]]


_TAIL = ["raw", "zoho_last_modified_time", "source", "synced_at"]


def _names(columns: tuple[Column, ...]) -> list[str]:
    return [column.name for column in columns]


def _copy_rows(events: list[EventEnvelope]) -> CopyRows:
    spec = ENTITIES["invoices"]
    child: ChildSpec | None = spec.child
    assert child is not None
    now = datetime.now(UTC)
    rows = CopyRows(
        parent_columns=["org_id", "invoice_id", *_names(spec.columns), *_TAIL],
        parents=[],
        child_columns=["org_id", "invoice_id", "line_item_id", *_names(child.columns), *_TAIL],
        children=[],
    )
    for event in events:
        mapped = map_change(f.change("invoices", event.zoho_id, event.payload, org_id=event.org_id))
        tail = (mapped.modified, "webhook", now)
        row = mapped.row
        typed = [_typed(c, row[c.name]) for c in spec.columns]
        rows.parents.append(
            (row["org_id"], row["invoice_id"], *typed, json.dumps(row["raw"]), *tail)
        )
        for line in mapped.children or ():
            key = (line["org_id"], line["invoice_id"], line["line_item_id"])
            typed = [_typed(c, line[c.name]) for c in child.columns]
            rows.children.append((*key, *typed, json.dumps(line["raw"]), *tail))
    return rows


async def _copy_baseline(url: str, events: list[EventEnvelope]) -> float:
    rows = _copy_rows(events)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_invoices, bench_lines")
        await conn.execute("CREATE TABLE bench_invoices (LIKE zoho.invoices INCLUDING ALL)")
        await conn.execute("CREATE TABLE bench_lines (LIKE zoho.invoice_line_items INCLUDING ALL)")
        started = time.perf_counter()
        for start in range(0, len(rows.parents), BATCH):
            async with conn.transaction():
                parents = rows.parents[start : start + BATCH]
                await conn.copy_records_to_table(
                    "bench_invoices", records=parents, columns=rows.parent_columns
                )
                lines = rows.children[start * 4 : (start + BATCH) * 4]
                await conn.copy_records_to_table(
                    "bench_lines", records=lines, columns=rows.child_columns
                )
        return len(rows.parents) / (time.perf_counter() - started)
    finally:
        await conn.close()


# The tables the write path fills, with the column that says which org a row is of; each is
# copied as a whole per batch of events, as the write path writes them.
_WRITTEN: tuple[tuple[str, str], ...] = (
    ("zoho.invoices", "invoice_id"),
    ("zoho.invoice_line_items", "invoice_id"),
    ("tds_inbox_events", "entity_id"),
    ("tds_sync_queue", "zoho_entity_id"),
)


async def _all_rows_baseline(url: str, org: str) -> float:
    """Events per second of a raw COPY of every row the write path wrote for ``org``: the rows
    are read back per table, grouped into the write path's batches of events, and copied into
    empty tables like the originals (indexes included, no triggers), a transaction per batch.
    A plain connection: asyncpg's own binary codecs, as the mirror-only baseline uses."""
    batches: list[list[tuple[str, list[tuple[Any, ...]]]]] = []
    ids: list[str] = []
    columns: dict[str, list[str]] = {}
    conn = await asyncpg.connect(url)
    try:
        for table, id_column in _WRITTEN:
            rows = await conn.fetch(
                f"SELECT * FROM {table} WHERE org_id = $1 ORDER BY {id_column}", org
            )
            columns[table] = list(rows[0].keys())
            if not ids:
                ids = sorted({r[id_column] for r in rows})
            for n, start in enumerate(range(0, len(ids), BATCH)):
                last = ids[min(start + BATCH, len(ids)) - 1]
                first = ids[start]
                chunk = [tuple(r.values()) for r in rows if first <= r[id_column] <= last]
                if n == len(batches):
                    batches.append([])
                batches[n].append((table, chunk))
        copies = {table: f"bench_copy_{n}" for n, (table, _) in enumerate(_WRITTEN)}
        for table, copy in copies.items():
            await conn.execute(f"DROP TABLE IF EXISTS {copy}")
            await conn.execute(f"CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")
        try:
            started = time.perf_counter()
            for batch in batches:
                async with conn.transaction():
                    for table, chunk in batch:
                        if chunk:
                            await conn.copy_records_to_table(
                                copies[table], records=chunk, columns=columns[table]
                            )
            elapsed = time.perf_counter() - started
        finally:
            for copy in copies.values():
                await conn.execute(f"DROP TABLE IF EXISTS {copy}")
    finally:
        await conn.close()
    return len(ids) / elapsed


async def _write_path(pool: asyncpg.Pool, events: list[EventEnvelope]) -> float:
    records = [Rec("bench", 0, n, e.key, e.to_bytes()) for n, e in enumerate(events)]
    dummy = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    no_dlq = DeadLetterPublisher(None, "unused")  # every bench event is good
    reads = ThinReads(RecordFetcher(ProxyClient(dummy)), concurrency=1)
    settings = Settings()
    processor = BatchProcessor(pool, reads, no_dlq, settings)
    batches = [records[start : start + BATCH] for start in range(0, len(records), BATCH)]
    # The collector as the running service tunes it; the freeze also keeps the bench's own
    # inputs (every event of the round, built up front) out of the collector's passes: the
    # service never holds such a backlog in memory.
    with tuned_collector(settings.gc):
        started = time.perf_counter()
        # As the consumer does: the next batch is prepared while the current one writes.
        upcoming = await processor.prepare(batches[0])
        for following in [*batches[1:], None]:
            ahead = asyncio.create_task(processor.prepare(following)) if following else None
            items = await processor.write(upcoming)
            assert all(i.outcome == "applied" for i in items), "bench events must all apply"
            if ahead is not None:
                upcoming = await ahead
        elapsed = time.perf_counter() - started
    await dummy.aclose()
    return len(records) / elapsed


async def _count(pool: asyncpg.Pool, org: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM tds_sync_queue WHERE org_id = $1", org))


async def _until(pool: asyncpg.Pool, org: str, count: int, limit_seconds: float = 300) -> None:
    deadline = time.monotonic() + limit_seconds
    while await _count(pool, org) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("processor did not finish in time")
        await asyncio.sleep(0.05)


async def _publish(topic: str, events: list[EventEnvelope], rate: float | None = None) -> None:
    producer = create_producer(BOOTSTRAP)
    await producer.start()
    try:
        started = time.perf_counter()
        for n, event in enumerate(events):
            if rate:
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
                event = event.model_copy(update={"received_at": datetime.now(UTC)})
            await producer.send(topic, event.to_bytes(), key=event.key)
        await producer.flush()
    finally:
        await producer.stop()


def _settings(url: str, topics: TopicSettings) -> Settings:
    return Settings(
        database_url=url,
        kafka_bootstrap_servers=BOOTSTRAP,
        topics=topics,
        consumer=ConsumerSettings(group_id=f"bench-{uuid.uuid4().hex[:8]}", batch_timeout_ms=20),
        log_json=False,
        log_level="WARNING",
    )


async def _end_to_end(
    url: str, pool: asyncpg.Pool, rate: float | None, count: int
) -> tuple[float, list[float]]:
    from asgi_lifespan import LifespanManager

    from processor.app import create_app

    suffix = uuid.uuid4().hex[:8]
    topics = TopicSettings(
        events=f"bench.{suffix}.events",
        sync_requests=f"bench.{suffix}.req",
        dead_letters=f"bench.{suffix}.dlq",
    )
    await ensure_topics(BOOTSTRAP, {topics.events: 3, topics.dead_letters: 1}, kafka=SINGLE_BROKER)
    org = _org(f"bench-{suffix}")
    events = _events(org, count)
    app = create_app(_settings(url, topics))
    if rate is None:  # backlog first, then time the drain
        await _publish(topics.events, events)
        del events  # published: the service never holds its backlog in memory, nor should we
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            gc.freeze()  # and what the bench itself holds stays out of the collector's passes
            started = time.perf_counter()
            await _until(pool, org, count)
            throughput = count / (time.perf_counter() - started)
            gc.unfreeze()
    else:
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            await asyncio.sleep(3)  # group join
            await _publish(topics.events, events, rate)
            await _until(pool, org, count)
            throughput = 0.0
    delays = await pool.fetch(
        "SELECT extract(epoch FROM processing_completed_at - queued_at)::float8 AS d "
        "FROM tds_sync_queue WHERE org_id = $1",
        org,
    )
    return throughput, [r["d"] for r in delays]


SECTION = "processor"


async def _run(admin_url: str, results: Results) -> None:
    say = lambda line: results.say(SECTION, line)  # noqa: E731
    name = f"tds_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        apply_migrations(url)
        pool = await create_pool(url, max_size=5)
        try:
            size = statistics.mean(len(e.to_bytes()) for e in _events(_org("x"), 50))
            say(
                f"payload: invoice with 4 line items, {size:.0f} bytes per event, {EVENTS} "
                f"events per round, {BATCH} per transaction, {ROUNDS} rounds"
            )
            say(
                f"{'round':>5} {'raw COPY/s':>10} {'write path/s':>12} {'ratio':>6} "
                f"{'Kafka e2e/s':>11} {'ratio':>6}   (COPY of mirror rows only/s, ratio)"
            )
            for n in range(ROUNDS):
                mirror_copy = await _copy_baseline(url, _events(_org(f"copy{n}"), EVENTS))
                written = _org(f"write{n}")
                write = await _write_path(pool, _events(written, EVENTS))
                copy = await _all_rows_baseline(url, written)
                kafka = ""
                results.add(
                    SECTION,
                    "write path ÷ raw COPY (mirror, children, inbox, queue)",
                    write / copy,
                    "ratio",
                    target=">= 0.5",
                )
                results.add(
                    SECTION,
                    "write path ÷ raw COPY of the mirror rows only (stricter)",
                    write / mirror_copy,
                    "ratio",
                )
                results.add(SECTION, "raw COPY of the same rows", copy, "events/s")
                results.add(SECTION, "raw COPY of the mirror rows only", mirror_copy, "events/s")
                results.add(SECTION, "write path", write, "events/s")
                if n < KAFKA_ROUNDS:
                    e2e, _ = await _end_to_end(url, pool, None, EVENTS)
                    results.add(
                        SECTION,
                        "through Kafka (whole service, backlog) ÷ raw COPY",
                        e2e / copy,
                        "ratio",
                        target=">= 0.4",
                    )
                    results.add(SECTION, "through Kafka (whole service, backlog)", e2e, "events/s")
                    kafka = f"{e2e:>11.0f} {e2e / copy:>6.2f}"
                say(
                    f"{n + 1:>5} {copy:>10.0f} {write:>12.0f} {write / copy:>6.2f} "
                    f"{kafka or ' ' * 18}   ({mirror_copy:.0f}, {write / mirror_copy:.2f})"
                )
        finally:
            await pool.close()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_bench(results: Results) -> None:
    asyncio.run(_run(ADMIN_URL, results))


def main() -> None:
    from bench.results import Results

    run_bench(Results())


if __name__ == "__main__":
    main()
