"""What one run's entity sync needs, and the one transaction that commits a page.

:func:`commit_page` writes a page's mirror rows through :func:`tds_common.mirror.write_changes`,
the ids a full run has seen, the entity's checkpoint and the run's counters, all in ONE
transaction: after a crash, either the page and its checkpoint are both there or neither is.
A record PostgreSQL refuses (e.g. a ``\\u0000`` that jsonb rejects) fails alone: the page is
retried change by change in savepoints and the record is counted as failed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bulk_sync import metrics, runs
from bulk_sync.proxy import SyncProxy
from bulk_sync.runs import Progress
from bulk_sync.settings import SyncSettings
from tds_common.catalogue import get_entity
from tds_common.db import database_unavailable_as_error
from tds_common.db_errors import is_record_fault, write_isolating
from tds_common.errors import truncate
from tds_common.mirror import Change, MappedChange, MappingError, map_change, write_changes
from tds_common.proxy_client import Lane
from tds_common.versions import FutureVersionError, check_version

logger = logging.getLogger(__name__)


@dataclass
class RunContext:
    pool: asyncpg.Pool
    proxy: SyncProxy
    settings: SyncSettings
    run_id: uuid.UUID
    org_id: str
    entity: str
    mode: str
    started_at: datetime
    """First start of the run: rows not written since and not seen are gone from Zoho."""
    detail_calls: int = 0
    """Detail reads spent so far (checkpointed, so a resumed run keeps its cap)."""
    detail_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))
    list_source: str | None = None
    """List from this Zoho product only (``inventory`` for the items Books lacks)."""
    checkpoint_key: str | None = None
    """Where the run's checkpoint keeps this listing's state (default: the entity)."""

    @property
    def lane(self) -> Lane:
        return "bulk" if self.mode == "full" else "incremental"


@dataclass
class PageResult:
    """Changes of one page, and what to report.

    Every change bulk-sync writes is a *read* of Zoho's current state, made no earlier than
    ``read_at`` (create the result before the reads): at the version the mirror holds, such a
    read settles which content is current, and a listed record deleted by mistake comes back
    (see :mod:`tds_common.mirror.rules`).
    """

    changes: list[MappedChange] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    unchanged: int = 0
    gone: int = 0
    errors: list[str] = field(default_factory=list)
    read_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def add(self, change: Change) -> None:
        """Map a change; a record that cannot be stored is counted as failed."""
        observed = change.observed_at or self.read_at
        try:
            self.changes.append(map_change(replace(change, read=True, observed_at=observed)))
        except MappingError as exc:
            self.errors.append(f"{change.entity} {change.zoho_id}: {exc}")

    def refuse_future_versions(self, max_skew_seconds: float) -> None:
        """Skip changes whose version is too far ahead of our clock; each is counted as failed
        and named in the run's error log (it would freeze the row, :mod:`tds_common.versions`)."""
        kept = []
        for item in self.changes:
            try:
                check_version(item.modified, max_skew_seconds)
            except FutureVersionError as exc:
                self.errors.append(f"{item.change.entity} {item.change.zoho_id}: skipped, {exc}")
            else:
                kept.append(item)
        self.changes = kept


async def commit_page(
    ctx: RunContext,
    page: PageResult,
    state: dict[str, Any],
    *,
    listed: int,
    handled: int,
    api_calls: int,
    source: str | None,
) -> None:
    """Rows, seen ids, checkpoint and counters of one page in one transaction.

    ``listed`` adds to total_items (0 when the total was known up front), ``handled`` is the
    records this page dealt with (failed ones included).
    """
    page.refuse_future_versions(ctx.settings.max_version_skew_seconds)
    unmapped = len(page.errors)
    poison = written = 0
    with database_unavailable_as_error():
        async with ctx.pool.acquire() as conn, conn.transaction():
            written, poison = await _write(conn, page)
            failed = unmapped + poison
            if ctx.mode == "full":
                await runs.mark_seen(conn, ctx.run_id, ctx.entity, page.seen)
            progress = Progress(listed, handled - failed, failed, api_calls)
            key = ctx.checkpoint_key or ctx.entity
            await runs.save_progress(conn, ctx.run_id, key, state, progress, source)
            for message in page.errors[-20:]:
                await runs.append_error(conn, ctx.run_id, truncate(message, 500))
    metrics.PAGES.labels(ctx.entity).inc()
    # Honest counts: a change the mirror's rule did not apply (a newer or as-new row is there)
    # changed nothing.
    metrics.RECORDS.labels(ctx.entity, "written").inc(written)
    metrics.RECORDS.labels(ctx.entity, "unchanged").inc(
        page.unchanged + len(page.changes) - poison - written
    )
    metrics.RECORDS.labels(ctx.entity, "failed").inc(unmapped + poison)


async def _write(conn: Any, page: PageResult) -> tuple[int, int]:
    """Write the page's changes; returns how many were applied and how many failed on their
    own (poison rows: tds_common.db_errors says whose fault a failure is)."""
    written: list[int] = []
    failed: list[MappedChange] = []

    async def write(changes: Sequence[MappedChange]) -> None:
        async with conn.transaction():
            written.append(len(await write_changes(conn, list(changes))))

    async def refused(change: MappedChange, exc: BaseException) -> None:
        if not is_record_fault(exc):
            raise exc
        failed.append(change)
        c, state = change.change, getattr(exc, "sqlstate", "")
        page.errors.append(f"{c.entity} {c.zoho_id}: PostgreSQL refused it ({state})")

    if page.changes:
        await write_isolating(write, page.changes, failed=refused)
    return sum(written), len(failed)


def gone_from_zoho(
    ctx: RunContext,
    zoho_id: str,
    modified: datetime | None = None,
    *,
    observed_at: datetime | None = None,
) -> Change:
    """Zoho no longer has the record: a delete at the stored version ``modified`` (None: any),
    so a newer write landing meanwhile still wins, from the entity's own Zoho product.
    ``observed_at``: when Zoho said so, if earlier than the page's read."""
    source = get_entity(ctx.entity).products[0]
    return Change(
        entity=ctx.entity,
        org_id=ctx.org_id,
        zoho_id=zoho_id,
        op="delete",
        record={},
        source=source,
        last_modified_time=modified,
        observed_at=observed_at,
    )


def record_id(record: dict[str, Any], id_field: str) -> str | None:
    value = record.get(id_field)
    if value is None or value == "":
        return None
    return str(value)
