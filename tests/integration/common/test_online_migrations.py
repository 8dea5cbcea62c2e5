"""Migrations against a busy, large schema: writes keep going, a blocked DDL gives up.

The database starts at the first release's schema (0001 and 0002), gets 100,000 inbox rows and
as many queue rows, and then the rest of the migrations run while a writer inserts rows one at a
time; the longest a single write waited is reported (``-s`` shows it). What is asserted is the
overlap (writes committed while the migrations ran, none failing) and what concurrent writes
could break (the seeded queue counts stay exact, the constraint is validated, the concurrently
built indexes are valid), not the table's size: at this size the migrations take hundreds of
writes' time, and a million rows only made filling the tables take 15-30 s.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from tds_common.migrate import MIGRATIONS_DIR, MigrationSettings, apply_migrations, yoyo_url

pytestmark = pytest.mark.integration

ROWS = 100_000
FIRST_RELEASE = ("0001.", "0002.")

_INBOX_ROW = """
INSERT INTO tds_inbox_events (event_id, source_type, entity_type, entity_id, event_type,
    org_id, dedup_key, status)
VALUES (%(key)s, 'webhook', 'invoices', '1', 'upsert', '1', %(key)s, 'processed')
RETURNING id
"""
_QUEUE_ROW = """
INSERT INTO tds_sync_queue (inbox_event_id, entity_type, status, processing_completed_at)
VALUES (%s, 'invoices', 'completed', now())
"""


@pytest.fixture(name="first_release_url")
def fixture_first_release_url(postgres_admin_url: str) -> Iterator[str]:
    """A database of its own at the first release's schema."""
    name = f"tds_online_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    backend = get_backend(yoyo_url(url))
    first = read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: m.id.startswith(FIRST_RELEASE))
    with backend.lock():
        backend.apply_migrations(backend.to_apply(first))
    backend.connection.close()
    yield url
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Writer(threading.Thread):
    """Inserts an inbox row and its queue row per transaction until stopped; times each."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.longest_seconds = 0.0
        self.writes = 0
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                while not self.stop.is_set():
                    started = time.perf_counter()
                    with conn.transaction():
                        key = f"online:{uuid.uuid4().hex}"
                        row = conn.execute(_INBOX_ROW, {"key": key}).fetchone()
                        assert row is not None
                        conn.execute(_QUEUE_ROW, (row[0],))
                    self.longest_seconds = max(self.longest_seconds, time.perf_counter() - started)
                    self.writes += 1
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.errors.append(exc)


def _fill(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tds_inbox_events (event_id, source_type, entity_type, entity_id, "
            "event_type, org_id, dedup_key, status, raw_payload) "
            "SELECT 'e' || g, 'webhook', 'invoices', g::text, 'upsert', '1', 'k' || g, "
            "'processed', '{\"invoice\": {}}' FROM generate_series(1, %s) g",
            (ROWS,),
        )
        conn.execute(
            "INSERT INTO tds_sync_queue (inbox_event_id, entity_type, status, queued_at, "
            "processing_completed_at) SELECT g, 'invoices', 'completed', now(), now() "
            "FROM generate_series(1, %s) g",
            (ROWS,),
        )
        conn.execute("ANALYZE tds_inbox_events, tds_sync_queue")


def test_migrations_on_a_large_table_keep_taking_writes(first_release_url: str) -> None:
    _fill(first_release_url)
    writer = Writer(first_release_url)
    writer.start()
    while writer.writes == 0 and writer.is_alive():
        time.sleep(0.01)  # wait for the writer's first commit, not an assertion
    writes_before = writer.writes
    try:
        applied = apply_migrations(first_release_url, MigrationSettings(lock_timeout_seconds=2))
        writes_during = writer.writes - writes_before
    finally:
        writer.stop.set()
        writer.join()
    print(
        f"\nmigrations {applied[0]}..{applied[-1]} on {ROWS:,} rows: {writes_during} writes "
        f"meanwhile, longest blocked write {writer.longest_seconds * 1000:.0f} ms"
    )
    assert writer.errors == []
    assert writes_during > 0
    with psycopg.connect(first_release_url) as conn:
        validated = conn.execute(
            "SELECT convalidated FROM pg_constraint WHERE conname = 'tds_inbox_events_status_check'"
        ).fetchone()
        # 0014 seeds the queue counts while writes go on; with its triggers they stay exact.
        counted = conn.execute(
            "SELECT entity_type, status, sum(n)::bigint FROM tds_sync_queue_counts "
            "GROUP BY 1, 2 HAVING sum(n) <> 0"
        ).fetchall()
        queue = conn.execute(
            "SELECT entity_type, status, count(*) FROM tds_sync_queue GROUP BY 1, 2"
        ).fetchall()
        indexes = {
            row[0]
            for row in conn.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indisvalid"
            )
        }
    assert validated == (True,)
    assert sorted(counted) == sorted(queue)
    assert {
        "tds_sync_queue_inbox_event_idx",
        "tds_sync_queue_completed_idx",
        "tds_sync_runs_finished_idx",
    } <= indexes


def test_a_migration_waiting_for_a_lock_gives_up_instead_of_queueing_writes(
    first_release_url: str,
) -> None:
    """An open write transaction on the inbox: 0003's brief ACCESS EXCLUSIVE cannot be had."""
    outcome: list[BaseException | None] = []

    def migrate() -> None:
        try:
            apply_migrations(
                first_release_url,
                MigrationSettings(lock_timeout_seconds=0.2, lock_retries=1, retry_delay_seconds=0),
            )
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    with psycopg.connect(first_release_url) as holder:
        holder.execute(_INBOX_ROW, {"key": "held"})  # uncommitted: ROW EXCLUSIVE held
        migration = threading.Thread(target=migrate, daemon=True)
        migration.start()
        # Without a lock_timeout the migration waits for this transaction forever.
        migration.join(timeout=30)
        still_waiting = migration.is_alive()
        holder.rollback()
        migration.join()
    assert not still_waiting
    assert len(outcome) == 1
    assert isinstance(outcome[0], psycopg.errors.LockNotAvailable)
    with psycopg.connect(first_release_url) as conn:
        applied = conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone()
    assert applied == (
        len([m for m in read_migrations(str(MIGRATIONS_DIR)) if m.id.startswith(FIRST_RELEASE)]),
    )
