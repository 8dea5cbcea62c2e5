"""The processor's control rows: ``tds_inbox_events`` and ``tds_sync_queue``.

Both tables are contracts (docs/architecture.md#control-tables).

One inbox row per event, unique on its dedup key: inserting it is how a redelivery is detected
(``ON CONFLICT DO NOTHING`` returns nothing for it), in the same transaction as the mirror rows,
so "row written" and "event recorded" commit together. An event that was dead-lettered before
(and is now replayed) is revived instead. One queue row per event records when it was received,
started and completed, which is what the users' monitoring SQL and ``/api/zoho/sync/stats`` read.

Statuses: inbox ``completed`` (applied), ``skipped`` (a newer version was stored already),
``dead_letter``; queue ``completed`` or ``dead_letter``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import asyncpg

from processor.records import Item, KafkaRecord, db_text
from tds_common.catalogue import get_entity
from tds_common.db_errors import is_record_fault
from tds_common.echo import echoes
from tds_common.errors import truncate
from tds_common.mirror import DbConnection, MappedChange, apply_changes, with_raw_in_inbox
from tds_common.mirror.reads import stored_rows
from tds_common.pg_json import dumps

WEBHOOK_PRIORITY: Final = 1
SYNC_PRIORITY: Final = 5

_INBOX_INSERT: Final = """
INSERT INTO tds_inbox_events AS t (event_id, source_type, entity_type, entity_id, event_type,
    raw_payload, received_at, processed_at, status, org_id, last_modified_time, dedup_key)
SELECT r.event_id, r.source_type, r.entity_type, r.entity_id, r.event_type, r.raw_payload,
    r.received_at, clock_timestamp(), 'completed', r.org_id, r.last_modified_time, r.dedup_key
FROM jsonb_to_recordset($1::text::jsonb) AS r(event_id text, source_type text, entity_type text,
    entity_id text, event_type text, raw_payload jsonb, received_at timestamptz, org_id text,
    last_modified_time timestamptz, dedup_key text)
ON CONFLICT (dedup_key) DO UPDATE SET status = 'completed', processed_at = clock_timestamp(),
    error_message = NULL, event_id = excluded.event_id
WHERE t.status IN ('dead_letter', 'failed', 'pending')
RETURNING t.id, t.dedup_key, (t.xmax <> 0) AS revived
"""

_FINISH: Final = """
WITH skipped AS (
    UPDATE tds_inbox_events SET status = 'skipped' WHERE id = ANY($7::bigint[])
), forgotten AS (
    DELETE FROM tds_processor_attempts WHERE dedup_key = ANY($8::text[])
)
INSERT INTO tds_sync_queue (inbox_event_id, entity_type, entity_id, zoho_entity_id, priority,
    status, queued_at, processing_started_at, processing_completed_at, org_id, kafka_topic,
    kafka_partition, kafka_offset)
SELECT i.id, i.entity_type, i.org_id || ':' || i.entity_type || ':' || i.entity_id, i.entity_id,
    q.priority, 'completed', i.received_at, $2, clock_timestamp(), i.org_id, q.kafka_topic,
    q.kafka_partition, q.kafka_offset
FROM unnest($1::bigint[], $3::integer[], $4::text[], $5::integer[], $6::bigint[])
    AS q(inbox_event_id, priority, kafka_topic, kafka_partition, kafka_offset)
JOIN tds_inbox_events i ON i.id = q.inbox_event_id
"""
"""After the mirror rows, in one statement (one round trip): the inbox rows of events that
changed nothing become ``skipped``, the batch's attempt counts are forgotten
(:mod:`processor.attempts`: its events are done), and the queue rows of the inbox rows just
written are inserted (what they share with them is read back there; the inbox's update in the
same statement is not seen by that read, and touches none of the columns it reads)."""

_QUEUE_REVIVE: Final = """
UPDATE tds_sync_queue SET status = 'completed', retry_count = retry_count + 1,
    error_message = NULL, processing_started_at = $2, processing_completed_at = clock_timestamp()
WHERE inbox_event_id = ANY($1::bigint[]) AND status <> 'completed'
"""

_DEAD_INBOX: Final = """
INSERT INTO tds_inbox_events AS t (event_id, source_type, entity_type, entity_id, event_type,
    raw_payload, received_at, processed_at, status, org_id, last_modified_time, dedup_key,
    error_message)
VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, clock_timestamp(), 'dead_letter', $8, $9, $10,
    $11)
ON CONFLICT (dedup_key) DO UPDATE SET status = 'dead_letter', processed_at = clock_timestamp(),
    error_message = excluded.error_message
WHERE t.status <> 'completed'
RETURNING t.id
"""

_DEAD_QUEUE_UPDATE: Final = """
UPDATE tds_sync_queue SET status = 'dead_letter', error_message = $2, retry_count = retry_count + 1,
    processing_completed_at = clock_timestamp(), kafka_topic = $3, kafka_partition = $4,
    kafka_offset = $5
WHERE inbox_event_id = $1 RETURNING id
"""

_DEAD_QUEUE_INSERT: Final = """
INSERT INTO tds_sync_queue (inbox_event_id, entity_type, entity_id, zoho_entity_id, priority,
    status, error_message, queued_at, processing_started_at, processing_completed_at, org_id,
    kafka_topic, kafka_partition, kafka_offset)
VALUES ($1, $6, $7, $8, $9, 'dead_letter', $2, $10, $11, clock_timestamp(), $12, $3, $4, $5)
RETURNING id
"""


_KNOWN: Final = """
SELECT dedup_key FROM tds_inbox_events
WHERE dedup_key = ANY($1::text[]) AND status IN ('completed', 'processed', 'skipped')
"""

_DEAD_VALUE: Final = """
INSERT INTO tds_dead_letter_values (queue_id, kafka_key, kafka_value) VALUES ($1, $2, $3)
ON CONFLICT (queue_id) DO UPDATE SET kafka_key = excluded.kafka_key,
    kafka_value = excluded.kafka_value, stored_at = now()
"""


async def known_events(pool: asyncpg.Pool, keys: list[str]) -> set[str]:
    """The dedup keys among ``keys`` the inbox has handled already (applied or stale): their
    events are skipped before any read or write. Dead letters are not among them (a replay
    must be handled again)."""
    if not keys:
        return set()
    async with pool.acquire() as conn:
        rows = await conn.fetch(_KNOWN, [db_text(key) for key in keys])
    known = {row["dedup_key"] for row in rows}
    return {key for key in keys if db_text(key) in known}


async def store_dead_letter_value(conn: DbConnection, queue_id: int, record: KafkaRecord) -> None:
    """Keep a dead letter's original key and value (when the broker refused it as too large)."""
    await conn.execute(_DEAD_VALUE, queue_id, record.key, record.value or b"")


class SameVersionConflictError(Exception):
    """Changes whose content disagrees with the mirror's at one version (two edits in one
    second); raised inside the batch's transaction so it rolls back. The caller reads those
    records through zoho-proxy and writes the batch again (see :mod:`tds_common.mirror.rules`).
    """

    def __init__(self, seen_at: dict[int, datetime | None]) -> None:
        super().__init__(f"{len(seen_at)} change(s) disagree with the mirror at one version")
        self.seen_at = seen_at
        """By ``id()`` of the conflicting MappedChange: when the content it meets was seen."""


async def apply_settled(conn: DbConnection, mapped: list[MappedChange]) -> set[int]:
    """:func:`tds_common.mirror.apply_changes`, raising :class:`SameVersionConflictError`
    when a change meets another content at its version; returns the indices applied."""
    outcome = await apply_changes(conn, mapped)
    if outcome.conflicts:
        raise SameVersionConflictError(
            {id(mapped[i]): outcome.seen_at.get(i) for i in outcome.conflicts}
        )
    return outcome.applied


def _dumps(value: Any) -> str:
    return dumps(value, default=str)


def _priority(item: Item) -> int:
    return (
        WEBHOOK_PRIORITY if item.envelope and item.envelope.source == "webhook" else SYNC_PRIORITY
    )


def _inbox_row(item: Item) -> dict[str, Any]:
    envelope = item.envelope
    assert envelope is not None
    return {
        "event_id": envelope.event_id,
        "source_type": envelope.source,
        "entity_type": envelope.entity,
        "entity_id": envelope.zoho_id,
        "event_type": envelope.op,
        "raw_payload": envelope.payload,
        "received_at": envelope.received_at.isoformat(),
        "org_id": envelope.org_id,
        "last_modified_time": (
            envelope.last_modified_time.isoformat() if envelope.last_modified_time else None
        ),
        "dedup_key": item.dedup_key,
    }


def inbox_json(item: Item) -> str:
    """The item's inbox row as :data:`_INBOX_INSERT` takes it (JSON), rendered once: the
    processor renders it while the batch before is being written."""
    if item.inbox_json is None:
        item.inbox_json = _dumps(_inbox_row(item))
    return item.inbox_json


async def write_batch(conn: DbConnection, items: list[Item], started_at: datetime) -> None:
    """Inbox, mirror and queue rows for mapped items, and their attempt counts forgotten; run
    inside one transaction.

    Sets each item's ``outcome``: applied, stale, echo (of TDS's own write) or duplicate.
    """
    unique: dict[str, Item] = {}
    for item in items:
        if item.dedup_key in unique:
            item.outcome = "duplicate"
        else:
            unique[item.dedup_key] = item
    rows = "[" + ",".join([inbox_json(i) for i in unique.values()]) + "]"
    inbox = await conn.fetch(_INBOX_INSERT, rows)
    fresh: list[tuple[Item, int, bool]] = []
    repeated: list[Item] = []
    returned = {r["dedup_key"]: (r["id"], r["revived"]) for r in inbox}
    for key, item in unique.items():
        if key in returned:
            fresh.append((item, *returned[key]))
        else:
            repeated.append(item)
    for item, _, revived in fresh:
        if revived and item.mapped is not None:
            # The inbox row is an older one's (a dead letter's), whose payload may be missing.
            item.mapped = with_raw_in_inbox(item.mapped, None)
    # An event the inbox holds already is a redelivery, a no-op for the mirror, unless another
    # content took its version since (Zoho's edits A, B, A in one second: A's second webhook
    # repeats the first, while the row holds B). Those are written as they came (raw sent: the
    # inbox row is an older one's), so they meet B at their version and are read from Zoho.
    recheck = await _overtaken(conn, repeated)
    rechecked = {id(item) for item in recheck}
    for item in repeated:
        if id(item) in rechecked:
            assert item.mapped is not None
            item.mapped = with_raw_in_inbox(item.mapped, None)
        else:
            item.outcome = "duplicate"
    changes: list[MappedChange] = []
    for item in [*(item for item, _, _ in fresh), *recheck]:
        assert item.mapped is not None
        changes.append(item.mapped)
    # Zoho's webhook for TDS's own write: the mirror holds that version already, from a read.
    echoed = await echoes(conn, [m.change for m in changes])
    kept = [index for index in range(len(changes)) if index not in echoed]
    written = await apply_settled(conn, [changes[index] for index in kept])
    applied = {kept[position] for position in written}
    stale = []
    for index, (item, inbox_id, _) in enumerate(fresh):
        item.outcome = "applied" if index in applied else "echo" if index in echoed else "stale"
        if index not in applied:
            stale.append(inbox_id)
    for index, item in enumerate(recheck, start=len(fresh)):
        item.outcome = "applied" if index in applied else "duplicate"
    queued = [(item, inbox_id) for item, inbox_id, revived in fresh if not revived]
    await conn.execute(
        _FINISH,
        [inbox_id for _, inbox_id in queued],
        started_at,
        [_priority(item) for item, _ in queued],
        [item.record.topic for item, _ in queued],
        [item.record.partition for item, _ in queued],
        [item.record.offset for item, _ in queued],
        stale,
        [db_text(item.dedup_key) for item in items],
    )
    revived_ids = [inbox_id for _, inbox_id, revived in fresh if revived]
    if revived_ids:
        await conn.execute(_QUEUE_REVIVE, revived_ids, started_at)


async def _overtaken(conn: DbConnection, repeated: list[Item]) -> list[Item]:
    """Of events the inbox holds already, those whose version the mirror now holds with other
    content (a redelivery of content that a read or a later webhook replaced at its version)."""
    groups: dict[tuple[str, str], dict[str, list[MappedChange]]] = {}
    of: dict[int, Item] = {}
    for item in repeated:
        m = item.mapped
        if m is None or m.deleted or m.spec.kind != "record" or m.modified is None:
            continue  # a delete is final; stock rows are versioned per warehouse
        of[id(m)] = item
        groups.setdefault((m.spec.name, m.change.org_id), {}).setdefault(
            m.change.zoho_id, []
        ).append(m)
    overtaken: list[Item] = []
    for (entity, org_id), ids in groups.items():
        spec = get_entity(entity)
        while ids:  # one content per id and query (two repeated contents of one id: rare)
            firsts = {zoho_id: changes.pop(0) for zoho_id, changes in ids.items()}
            ids = {zoho_id: changes for zoho_id, changes in ids.items() if changes}
            listed = {zoho_id: m.change.record for zoho_id, m in firsts.items()}
            stored = await stored_rows(conn, spec, org_id, listed)
            for zoho_id, m in firsts.items():
                row = stored.get(zoho_id)
                if row and not row.deleted and row.modified == m.modified and not row.same:
                    overtaken.append(of[id(m)])
    return overtaken


async def record_dead_letter(conn: DbConnection, item: Item, started_at: datetime) -> int:
    """Mark one poison event ``dead_letter`` in inbox and queue; returns the queue row id.

    A payload PostgreSQL cannot store at all (e.g. a ``\\u0000`` in a string, which jsonb
    rejects) is recorded without ``raw_payload``; the DLQ message keeps the original bytes.
    """
    try:
        return await _record_dead_letter(conn, item, started_at, keep_payload=True)
    except asyncpg.PostgresError as exc:
        if not is_record_fault(exc):
            raise
        return await _record_dead_letter(conn, item, started_at, keep_payload=False)


async def _record_dead_letter(
    conn: DbConnection, item: Item, started_at: datetime, *, keep_payload: bool
) -> int:
    assert item.error is not None
    # Every text is made storable (NUL spelled out): a dead letter must never fail on its data.
    message = db_text(truncate(f"{type(item.error).__name__}: {item.error}", 1000))
    record = item.record
    envelope = item.envelope
    dedup = db_text(item.dedup_key)
    async with conn.transaction():
        if envelope is not None:
            entity, org_id = db_text(envelope.entity), db_text(envelope.org_id)
            zoho_id = db_text(envelope.zoho_id)
            inbox_id = await conn.fetchval(
                _DEAD_INBOX,
                db_text(envelope.event_id),
                envelope.source,
                entity,
                zoho_id,
                envelope.op,
                _dumps(envelope.payload) if keep_payload else None,
                envelope.received_at,
                org_id,
                envelope.last_modified_time,
                dedup,
                message,
            )
            queued_at = envelope.received_at
        else:
            inbox_id = await conn.fetchval(
                _DEAD_INBOX,
                dedup,
                "unknown",
                "unknown",
                "",
                "unknown",
                None,
                started_at,
                "",
                None,
                dedup,
                message,
            )
            entity, org_id, zoho_id, queued_at = "unknown", "", "", started_at
        location = (db_text(record.topic), record.partition, record.offset)
        if inbox_id is not None:
            queue_id = await conn.fetchval(_DEAD_QUEUE_UPDATE, inbox_id, message, *location)
            if queue_id is not None:
                return int(queue_id)
        queue_id = await conn.fetchval(
            _DEAD_QUEUE_INSERT,
            inbox_id,
            message,
            *location,
            entity,
            f"{org_id}:{entity}:{zoho_id}" if zoho_id else None,
            zoho_id or None,
            _priority(item),
            queued_at,
            started_at,
            org_id or None,
        )
        return int(queue_id)
