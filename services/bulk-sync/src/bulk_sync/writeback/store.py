"""The outbox (``tds_outbox``) and the local_ref ↔ zoho_id mapping (``tds_local_refs``).

Statuses: ``pending`` → ``in_flight`` (claimed, with a lease) → ``applied`` | ``conflict`` |
``rejected`` | ``failed``, or back to ``pending`` after a transient failure (with a backoff).
A claim and its outcome are separate commits around the Zoho call; an outcome only lands if
the claim is still the row's (``claim_id``), so a relay whose lease ran out cannot overwrite
what the relay that took over decided.

Order: a row is claimable only when no earlier row of the same (org, entity, local_ref) is
still open, so the writes of one record apply in id order whatever happens in between.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

from bulk_sync.writeback.shapes import LocalKey
from tds_common.mirror import DbConnection

COLUMNS: Final = (
    "id, org_id, entity, op, local_ref, zoho_id, payload, idempotency_key, "
    "expected_last_modified_time, status, result, error, attempts, created_at, applied_at"
)

SUMMARY_ERROR_CHARS: Final = 120
"""A listed write shows the start of its error; ``fetch`` gives the whole row."""

_LIST: Final = f"""
SELECT id, org_id, entity, op, local_ref, zoho_id, status, attempts,
    left(error, {SUMMARY_ERROR_CHARS}) AS error, created_at, updated_at, applied_at
FROM tds_outbox
WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR id < $2)
ORDER BY id DESC LIMIT $3
"""

_CLAIM: Final = f"""
WITH candidate AS (
    SELECT o.id FROM tds_outbox o
    WHERE ((o.status = 'pending' AND o.next_attempt_at <= now())
           OR (o.status = 'in_flight' AND o.lease_until < now()))
      AND NOT EXISTS (
          SELECT 1 FROM tds_outbox e
          WHERE e.org_id = o.org_id AND e.entity = o.entity AND e.local_ref = o.local_ref
            AND e.id < o.id AND e.status IN ('pending', 'in_flight'))
    ORDER BY o.id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE tds_outbox t
SET status = 'in_flight', attempts = t.attempts + 1, claim_id = $1,
    lease_until = now() + make_interval(secs => $2), updated_at = now()
FROM candidate WHERE t.id = candidate.id
RETURNING {", ".join("t." + c.strip() for c in COLUMNS.split(","))}
"""


@dataclass(frozen=True)
class Write:
    """One outbox row as the relay sees it."""

    id: int
    org_id: str
    entity: str
    op: str
    local_ref: str
    zoho_id: str | None
    payload: dict[str, Any]
    idempotency_key: str
    expected_last_modified_time: datetime | None
    attempts: int
    claim_id: uuid.UUID

    @property
    def local_key(self) -> LocalKey:
        return (self.entity, self.local_ref)


@dataclass(frozen=True)
class NewWrite:
    """A write as the ERP submits it."""

    org_id: str
    entity: str
    op: str
    local_ref: str
    zoho_id: str | None
    payload: Mapping[str, Any]
    idempotency_key: str
    expected_last_modified_time: datetime | None


def view(record: asyncpg.Record) -> dict[str, Any]:
    """A row as the API shows it (the pool decodes jsonb columns)."""
    return dict(record)


async def insert(conn: DbConnection, writes: Iterable[NewWrite]) -> list[int]:
    """Insert writes; a repeated (org, idempotency_key) yields the first write's id."""
    ids: list[int] = []
    for w in writes:
        row_id = await conn.fetchval(
            "INSERT INTO tds_outbox (org_id, entity, op, local_ref, zoho_id, payload, "
            "idempotency_key, expected_last_modified_time) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) "
            "ON CONFLICT (org_id, idempotency_key) DO NOTHING RETURNING id",
            w.org_id,
            w.entity,
            w.op,
            w.local_ref,
            w.zoho_id,
            dict(w.payload),
            w.idempotency_key,
            w.expected_last_modified_time,
        )
        if row_id is None:
            row_id = await conn.fetchval(
                "SELECT id FROM tds_outbox WHERE org_id = $1 AND idempotency_key = $2",
                w.org_id,
                w.idempotency_key,
            )
        ids.append(int(row_id))
    return ids


async def fetch(conn: DbConnection, write_id: int) -> dict[str, Any] | None:
    record = await conn.fetchrow(f"SELECT {COLUMNS} FROM tds_outbox WHERE id = $1", write_id)
    return None if record is None else view(record)


async def list_writes(
    conn: DbConnection, status: str | None, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first: at most ``limit`` writes (of ``status``) with ids below ``before_id``.

    Keyset paging down the primary key: a page deep in the list costs what the first one does
    (no OFFSET); finished writes are bounded by retention (``PROCESSOR_RETENTION__OUTBOX_DAYS``)."""
    return [dict(record) for record in await conn.fetch(_LIST, status, before_id, limit)]


async def claim(conn: DbConnection, lease_seconds: float) -> Write | None:
    """Take the next due write (its lease starts now); None when nothing is due."""
    claim_id = uuid.uuid4()
    record = await conn.fetchrow(_CLAIM, claim_id, lease_seconds)
    if record is None:
        return None
    row = view(record)
    return Write(
        id=row["id"],
        org_id=row["org_id"],
        entity=row["entity"],
        op=row["op"],
        local_ref=row["local_ref"],
        zoho_id=row["zoho_id"],
        payload=row["payload"],
        idempotency_key=row["idempotency_key"],
        expected_last_modified_time=row["expected_last_modified_time"],
        attempts=row["attempts"],
        claim_id=claim_id,
    )


async def finish(
    conn: DbConnection,
    write: Write,
    status: str,
    *,
    result: Mapping[str, Any] | None = None,
    error: str | None = None,
    zoho_id: str | None = None,
) -> bool:
    """Record the outcome; False when the claim is no longer this relay's (nothing changed)."""
    done = await conn.fetchval(
        "UPDATE tds_outbox SET status = $3, result = COALESCE($4::jsonb, result), error = $5, "
        "zoho_id = COALESCE($6, zoho_id), lease_until = NULL, claim_id = NULL, updated_at = now(), "
        "applied_at = CASE WHEN $3 = 'applied' THEN now() ELSE applied_at END "
        "WHERE id = $1 AND claim_id = $2 AND status = 'in_flight' RETURNING id",
        write.id,
        write.claim_id,
        status,
        dict(result) if result is not None else None,
        error,
        zoho_id,
    )
    return done is not None


async def retry_later(
    conn: DbConnection, write: Write, delay_seconds: float, error: str, *, counts: bool = True
) -> bool:
    """Back to ``pending`` for ``delay_seconds``; ``counts=False``: the attempt was only a wait
    (a referenced record not created yet) and does not count."""
    done = await conn.fetchval(
        "UPDATE tds_outbox SET status = 'pending', error = $3, lease_until = NULL, "
        "claim_id = NULL, next_attempt_at = now() + make_interval(secs => $4), "
        "attempts = attempts - $5, updated_at = now() "
        "WHERE id = $1 AND claim_id = $2 AND status = 'in_flight' RETURNING id",
        write.id,
        write.claim_id,
        error,
        delay_seconds,
        0 if counts else 1,
    )
    return done is not None


async def zoho_ids(
    conn: DbConnection, org_id: str, keys: Iterable[LocalKey]
) -> dict[LocalKey, str]:
    """The Zoho ids known for these (entity, local_ref)."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT entity, local_ref, zoho_id FROM tds_local_refs WHERE org_id = $1 "
        "AND (entity, local_ref) IN (SELECT * FROM unnest($2::text[], $3::text[]))",
        org_id,
        [k[0] for k in wanted],
        [k[1] for k in wanted],
    )
    return {(r["entity"], r["local_ref"]): r["zoho_id"] for r in rows}


async def remember(conn: DbConnection, org_id: str, key: LocalKey, zoho_id: str) -> None:
    await conn.execute(
        "INSERT INTO tds_local_refs (org_id, entity, local_ref, zoho_id) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (org_id, entity, local_ref) DO NOTHING",
        org_id,
        key[0],
        key[1],
        zoho_id,
    )


async def create_open(conn: DbConnection, org_id: str, key: LocalKey) -> bool:
    """Whether a create of this local_ref is still open (a reference to it should wait)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM tds_outbox WHERE org_id = $1 AND entity = $2 "
            "AND local_ref = $3 AND op = 'create' AND status IN ('pending', 'in_flight'))",
            org_id,
            key[0],
            key[1],
        )
    )


async def oldest_open_age_seconds(conn: DbConnection) -> float:
    """Age of the oldest pending or in_flight write (0 when none)."""
    age = await conn.fetchval(
        "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) FROM tds_outbox "
        "WHERE status IN ('pending', 'in_flight')"
    )
    return float(age)
