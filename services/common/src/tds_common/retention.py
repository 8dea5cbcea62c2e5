"""Retention of the control tables: old rows are deleted in small batches, continuously.

Without it ``tds_inbox_events`` (a full payload copy per event), ``tds_sync_queue``, the
bulk-sync seen ids, finished runs, the write-back outbox (``tds_outbox``) and the processor's
leftover attempt counts (``tds_processor_attempts``) grow forever. Each batch is one short
``DELETE`` of at most ``batch_size`` rows chosen by primary key (``FOR UPDATE SKIP LOCKED``, so
replicas pruning at the same time never wait on each other, and no batch holds locks for long);
a table is pruned until a batch comes back short.

What is kept whatever its age:

- queue and inbox rows still in flight (``pending``, ``processing``);
- dead letters (queue and inbox rows ``dead_letter``) until their own, longer retention: a
  replayed dead letter goes back to ``pending`` and then ages like any other row;
- the newest completed run per organization, entity and run type (completeness and staleness
  read it), and every run not finished yet;
- outbox writes not finished (``pending``, ``in_flight``): only applied, conflicting, rejected
  or failed writes age out.

Each pass also folds the queue's count deltas (``tds_sync_queue_counts``, kept by triggers for
``/api/zoho/sync/stats``) into one row per entity and status, so that table stays small too.

Run by the processor with its ``PROCESSOR_RETENTION__*`` ages (``processor.retention``: a
background loop, and ``POST /api/zoho/retention/prune``, which ``tds prune`` calls).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final

import asyncpg
from pydantic import BaseModel, Field

logger = logging.getLogger(__name__)

DAY_SECONDS: Final = 86_400.0


class RetentionSettings(BaseModel):
    """How long each control table keeps finished rows (days), and how it is pruned."""

    enabled: bool = True
    """Off: no background loop (``tds prune``, through the processor's API, still prunes)."""
    queue_days: float = Field(14.0, gt=0)
    """``tds_sync_queue`` rows ``completed`` or ``failed``, by ``queued_at``."""
    inbox_days: float = Field(14.0, gt=0)
    """``tds_inbox_events`` rows done with (not pending, not dead letters), by ``received_at``."""
    dead_letter_days: float = Field(90.0, gt=0)
    """Dead letters never replayed (queue and inbox rows ``dead_letter``, their stored values)."""
    seen_days: float = Field(1.0, gt=0)
    """Seen ids of runs finished this long ago (bulk-sync drops them itself on a clean finish)."""
    runs_days: float = Field(90.0, gt=0)
    """Finished runs, by ``completed_at``, except each kind's newest completed run."""
    outbox_days: float = Field(30.0, gt=0)
    """Finished write-back rows (applied, conflict, rejected, failed), by ``updated_at``. The ERP
    may repeat an idempotency key this long and still get the first write's id back."""
    attempts_days: float = Field(7.0, gt=0)
    """Attempt counts last bumped this long ago: a record written or parked loses its count at
    once; what is left belongs to events no longer retried (skipped, or their offsets reset)."""
    batch_size: int = Field(1000, ge=1, le=100_000)
    """Rows per ``DELETE``: small enough that one batch takes milliseconds."""
    interval_seconds: float = Field(300.0, gt=0)
    """Pause between two passes of the service's loop."""


@dataclass(frozen=True)
class Rule:
    table: str
    days: str
    """The :class:`RetentionSettings` field with this rule's age."""
    delete: str
    """``$1`` the age in seconds, ``$2`` the batch size."""


_QUEUE_BATCH: Final = """
DELETE FROM tds_sync_queue WHERE id IN (
    SELECT id FROM tds_sync_queue
    WHERE queued_at < now() - make_interval(secs => $1) AND status IN {statuses}
    LIMIT $2 FOR UPDATE SKIP LOCKED)
"""
_INBOX_BATCH: Final = """
DELETE FROM tds_inbox_events WHERE id IN (
    SELECT id FROM tds_inbox_events
    WHERE received_at < now() - make_interval(secs => $1) AND status IN {statuses}
    LIMIT $2 FOR UPDATE SKIP LOCKED)
"""
_FINISHED: Final = "('completed', 'failed', 'cancelled')"

RULES: Final = (
    # Queue rows first: deleting an inbox row sets its queue rows' inbox_event_id to NULL.
    Rule("tds_sync_queue", "queue_days", _QUEUE_BATCH.format(statuses="('completed', 'failed')")),
    Rule("tds_sync_queue", "dead_letter_days", _QUEUE_BATCH.format(statuses="('dead_letter')")),
    Rule(
        "tds_inbox_events",
        "inbox_days",
        _INBOX_BATCH.format(statuses="('processed', 'completed', 'skipped', 'failed')"),
    ),
    Rule("tds_inbox_events", "dead_letter_days", _INBOX_BATCH.format(statuses="('dead_letter')")),
    Rule(
        "tds_sync_run_seen",
        "seen_days",
        f"""
DELETE FROM tds_sync_run_seen WHERE ctid = ANY(ARRAY(
    SELECT s.ctid FROM tds_sync_run_seen s JOIN tds_sync_runs r ON r.id = s.run_id
    WHERE r.status IN {_FINISHED} AND r.completed_at < now() - make_interval(secs => $1)
    LIMIT $2 FOR UPDATE OF s SKIP LOCKED))
""",
    ),
    Rule(
        "tds_outbox",
        "outbox_days",
        """
DELETE FROM tds_outbox WHERE id IN (
    SELECT id FROM tds_outbox
    WHERE status IN ('applied', 'conflict', 'rejected', 'failed')
      AND updated_at < now() - make_interval(secs => $1)
    LIMIT $2 FOR UPDATE SKIP LOCKED)
""",
    ),
    Rule(
        "tds_processor_attempts",
        "attempts_days",
        """
DELETE FROM tds_processor_attempts WHERE dedup_key IN (
    SELECT dedup_key FROM tds_processor_attempts
    WHERE last_failed_at < now() - make_interval(secs => $1)
    LIMIT $2 FOR UPDATE SKIP LOCKED)
""",
    ),
    Rule(
        "tds_sync_runs",
        "runs_days",
        f"""
DELETE FROM tds_sync_runs WHERE id IN (
    SELECT r.id FROM tds_sync_runs r
    WHERE r.status IN {_FINISHED} AND r.completed_at < now() - make_interval(secs => $1)
      AND EXISTS (
        SELECT 1 FROM tds_sync_runs newer
        WHERE newer.org_id = r.org_id AND newer.entity_type = r.entity_type
          AND newer.run_type = r.run_type AND newer.status = 'completed'
          AND newer.completed_at > r.completed_at)
    LIMIT $2 FOR UPDATE OF r SKIP LOCKED)
""",
    ),
)


# One statement: deltas committed meanwhile are not seen, so not deleted, and stay as they are;
# a concurrent fold skips the rows this one deleted (READ COMMITTED re-checks them), so nothing
# is counted twice.
FOLD_COUNTS: Final = """
WITH deltas AS (DELETE FROM tds_sync_queue_counts RETURNING entity_type, status, n)
INSERT INTO tds_sync_queue_counts (entity_type, status, n)
SELECT entity_type, status, sum(n) FROM deltas GROUP BY entity_type, status HAVING sum(n) <> 0
"""


def _deleted(status: str) -> int:
    """asyncpg's command tag: ``DELETE 42``."""
    return int(status.rsplit(" ", 1)[-1])


async def prune(pool: asyncpg.Pool, settings: RetentionSettings) -> dict[str, int]:
    """One pass over every rule; returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    for rule in RULES:
        age_seconds = getattr(settings, rule.days) * DAY_SECONDS
        total = 0
        while True:
            count = _deleted(await pool.execute(rule.delete, age_seconds, settings.batch_size))
            total += count
            if count < settings.batch_size:
                break
            await asyncio.sleep(0)  # let the service's other work in between batches
        deleted[rule.table] = deleted.get(rule.table, 0) + total
    await pool.execute(FOLD_COUNTS)
    if any(deleted.values()):
        logger.info("pruned control tables", extra={"deleted": deleted})
    return deleted
