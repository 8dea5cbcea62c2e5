"""Replay of one dead letter out of a large DLQ topic: peak memory flat in the topic's size.

For each topic size (10,000 and 100,000 dead letters of ~``LETTER_BYTES`` each) one letter in
the middle of the topic is replayed by its queue id, in a fresh Python process whose peak RSS
(``VmHWM``) is read when it ends:

- **by offset**: the letter's queue row carries its DLQ offset (what the processor stores);
- **by time**: it does not (an older release's letter): the replay seeks to minutes before its
  failure with ``offsets_for_times`` and stops minutes after it; the other letters were
  published a day before and a day after it.

Each replay republishes the letter (to a topic of the bench's own) and the row is made dead
again before the next measurement.

Baseline, in the same process kind: the same imports and connections with no replay (what any
replay costs at least), and the old way, reading the whole topic into memory, whose peak grows
with the topic. The figure of merit is peak RSS at 100,000 / at 10,000 (flat: about 1).

Environment: ``TDS_BENCH_DATABASE_URL`` (admin DSN, default the local stack's),
``TDS_BENCH_KAFKA_BOOTSTRAP``, ``TDS_BENCH_REPLAY_SIZES`` (default ``10000,100000``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition

from processor.replay import Selection, replay
from processor.settings import Settings
from tds_common.kafka import create_producer
from tds_common.retention import RetentionSettings
from tds_common.settings import TopicSettings
from tests.utils.kafka import CREATED_TOPICS, SINGLE_BROKER
from tests.utils.stack import scratch_database

if TYPE_CHECKING:
    from bench.results import Results

ADMIN_URL = os.environ.get(
    "TDS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:55432/postgres"
)
BOOTSTRAP = os.environ.get("TDS_BENCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
SIZES = [int(n) for n in os.environ.get("TDS_BENCH_REPLAY_SIZES", "10000,100000").split(",")]
LETTER_BYTES: Final = 1000
SECTION: Final = "replay"


async def _fill(topic: str, count: int, target: int, queue_id: int) -> int:
    """``count`` letters on a one-partition topic, the ``target``-th being ``queue_id``'s
    (published two days ago, when its row says it failed); returns its offset. The others carry
    another queue id and were published three days ago (before it) or one day ago (after)."""
    producer = create_producer(BOOTSTRAP, SINGLE_BROKER, linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    try:
        now = datetime.now(UTC)
        before, at, after = (int((now - timedelta(days=d)).timestamp() * 1000) for d in (3, 2, 1))
        body = b"x" * LETTER_BYTES
        offset = -1
        for i in range(count):
            if i == target:
                headers = [("tds-queue-id", str(queue_id).encode())]
                sent = await producer.send_and_wait(
                    topic, body, key=b"mine", headers=headers, timestamp_ms=at
                )
                offset = sent.offset
            else:
                await producer.send(
                    topic,
                    body,
                    key=b"other",
                    headers=[("tds-queue-id", b"0")],
                    timestamp_ms=before if i < target else after,
                )
        await producer.flush()
        return offset
    finally:
        await producer.stop()


async def _ensure_topics(topics: TopicSettings) -> None:
    from tds_common.kafka import ensure_topics

    CREATED_TOPICS.extend((topics.events, topics.dead_letters))  # deleted when the run ends
    await ensure_topics(BOOTSTRAP, {topics.events: 1, topics.dead_letters: 1}, kafka=SINGLE_BROKER)


def _settings(database_url: str, topics: TopicSettings) -> Settings:
    return Settings(
        database_url=database_url,
        kafka_bootstrap_servers=BOOTSTRAP,
        kafka=SINGLE_BROKER,
        topics=topics,
        log_json=False,
        retention=RetentionSettings(enabled=False),
    )


def _dead_row(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO tds_sync_queue (entity_type, status, processing_completed_at) "
            "VALUES ('invoices', 'dead_letter', now() - interval '2 days') RETURNING id"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _reset(database_url: str, queue_id: int, offset: int | None) -> None:
    """Dead again (a measured replay republished it), with or without its stored offset."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE tds_sync_queue SET status = 'dead_letter', replayed_at = NULL, "
            "replayed_as = NULL, dlq_partition = %s, dlq_offset = %s WHERE id = %s",
            (None if offset is None else 0, offset, queue_id),
        )


def _child(mode: str, database_url: str, events: str, dead_letters: str, queue_id: int) -> None:
    """Run in a fresh process: one replay (or a baseline), then print the peak RSS."""
    topics = TopicSettings(events=events, dead_letters=dead_letters)
    settings = _settings(database_url, topics)
    started = time.perf_counter()
    detail: dict[str, Any] = {}
    if mode == "replay":
        selection = Selection(queue_ids=frozenset({queue_id}))
        report = asyncio.run(replay(settings, selection, dry_run=False))
        detail = {"replayed": report.replayed, "scanned": report.scanned}
    elif mode == "whole-topic":
        detail = {"read": asyncio.run(_read_whole_topic(dead_letters))}
    peak_kib = _peak_rss_kib()
    print(
        json.dumps(
            {"peak_mib": peak_kib / 1024, "seconds": time.perf_counter() - started, **detail}
        )
    )


def _peak_rss_kib() -> int:
    """This process's own peak RSS. Not ``ru_maxrss``: Linux carries that across exec from the
    parent's image, so a child of a large bench process reported the parent's size."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1])


async def _read_whole_topic(topic: str) -> int:
    """The replay before issue 16: every letter of the topic in a list."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        letters: list[Any] = []
        while len(letters) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            letters.extend(batch.get(tp, []))
        return len(letters)
    finally:
        await consumer.stop()


def _measure(mode: str, database_url: str, topics: TopicSettings, queue_id: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.bench_replay",
            "child",
            mode,
            database_url,
            topics.events,
            topics.dead_letters,
            str(queue_id),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_bench(results: Results | None = None) -> None:
    def say(line: str) -> None:
        if results is not None:
            results.say(SECTION, line)
        else:
            print(line, flush=True)

    peaks: dict[tuple[str, int], float] = {}
    with scratch_database(ADMIN_URL) as url:
        for size in SIZES:
            suffix = uuid.uuid4().hex[:8]
            topics = TopicSettings(
                events=f"bench.{suffix}.events", dead_letters=f"bench.{suffix}.events.dlq"
            )
            asyncio.run(_ensure_topics(topics))
            queue_id = _dead_row(url)  # as an older release left it: no offset
            began = time.perf_counter()
            offset = asyncio.run(_fill(topics.dead_letters, size, size // 2, queue_id))
            say(
                f"{size:,} letters of {LETTER_BYTES} B on the DLQ topic "
                f"({time.perf_counter() - began:.1f} s to publish)"
            )
            for label, mode, stored_offset in (
                ("baseline", "baseline", None),
                ("replay by time", "replay", None),
                ("replay by offset", "replay", offset),
                ("whole topic", "whole-topic", None),
            ):
                _reset(url, queue_id, stored_offset)
                measured = _measure(mode, url, topics, queue_id)
                peaks[(label, size)] = measured["peak_mib"]
                say(
                    f"  {label:<16} peak RSS {measured['peak_mib']:7.1f} MiB, "
                    f"{measured['seconds']:.2f} s {_extra(measured)}"
                )
    small, large = min(SIZES), max(SIZES)
    if small == large:
        return
    for label in ("replay by offset", "replay by time", "whole topic"):
        ratio = peaks[(label, large)] / peaks[(label, small)]
        say(f"{label}: peak RSS at {large:,} / at {small:,} letters = {ratio:.2f}")
        if results is not None:
            target = "<= 1.1" if label.startswith("replay") else ""
            results.add(
                SECTION,
                f"{label}: peak RSS {large:,} / {small:,} letters",
                ratio,
                "ratio",
                target=target,
                better="lower",
            )


def _extra(measured: dict[str, Any]) -> str:
    shown = {k: v for k, v in measured.items() if k not in ("peak_mib", "seconds")}
    return f"({', '.join(f'{k} {v:,}' for k, v in shown.items())})" if shown else ""


def main() -> None:
    run_bench(None)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        mode, database_url, events, dead_letters, queue_id = sys.argv[2:7]
        _child(mode, database_url, events, dead_letters, int(queue_id))
    else:
        main()
