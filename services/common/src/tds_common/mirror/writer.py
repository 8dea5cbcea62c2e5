"""Write mapped changes into the mirror: set-based, monotonic, children with their parent.

The one write path for entity rows: processor calls it per Kafka batch, bulk-sync per page. It
runs inside the caller's transaction (so the caller's inbox rows or checkpoint commit atomically
with the rows) and issues a fixed number of statements per table, whatever the batch size.

Within a batch, several versions of the same record are first reduced to the one that would win
anyway (the database cannot update one row twice in one statement). Rows are written in key order
so two concurrent writers lock rows in the same order and do not deadlock.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tds_common.mirror.mapping import ChangeKey, MappedChange
from tds_common.mirror.specs import MirrorSpec
from tds_common.mirror.sql import child_statements, parent_statements, stock_statements

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # the stubs are generic, the runtime classes are not
    DbConnection: TypeAlias = (
        asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    )
else:
    DbConnection = asyncpg.Connection | PoolConnectionProxy
"""A plain connection or one borrowed from a pool."""


def supersedes(new: MappedChange, current: MappedChange) -> bool:
    """The monotonic rule of :mod:`tds_common.mirror.sql`, for two versions in one batch."""
    if new.modified is None or current.modified is None:
        return True
    if new.modified != current.modified:
        return new.modified > current.modified
    return new.deleted or not current.deleted


def reduce_batch(mapped: Sequence[MappedChange]) -> dict[ChangeKey, int]:
    """Per record key, the index of the version that wins within the batch."""
    best: dict[ChangeKey, int] = {}
    for index, item in enumerate(mapped):
        key = item.change.key
        if key not in best or supersedes(item, mapped[best[key]]):
            best[key] = index
    return best


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


async def _write_records(
    conn: DbConnection, spec: MirrorSpec, items: list[MappedChange]
) -> set[tuple[str, str]]:
    statements = parent_statements(spec)
    upserts = [m for m in items if not m.deleted]
    deletes = [m for m in items if m.deleted]
    won: set[tuple[str, str]] = set()
    won_upserts: set[tuple[str, str]] = set()
    if upserts:
        records = await conn.fetch(statements.upsert, _json([m.row for m in upserts]))
        won_upserts = {(r[0], r[1]) for r in records}
        won |= won_upserts
    won_deletes: set[tuple[str, str]] = set()
    if deletes:
        records = await conn.fetch(statements.delete, _json([m.row for m in deletes]))
        won_deletes = {(r[0], r[1]) for r in records}
        won |= won_deletes
    if spec.child is None:
        return won
    children = child_statements(spec, spec.child)
    replaced = [
        m
        for m in upserts
        if m.children is not None and (m.change.org_id, m.change.zoho_id) in won_upserts
    ]
    if replaced:
        owners = [m.change.org_id for m in replaced], [m.change.zoho_id for m in replaced]
        await conn.execute(children.clear, *owners)
        rows = [row for m in replaced for row in m.children or ()]
        if rows:
            await conn.execute(children.insert, _json(rows))
    if won_deletes:
        ordered = sorted(won_deletes)
        await conn.execute(children.mark_deleted, [k[0] for k in ordered], [k[1] for k in ordered])
    return won


async def _write_stock(
    conn: DbConnection, spec: MirrorSpec, items: list[MappedChange]
) -> set[tuple[str, str]]:
    statements = stock_statements(spec)
    orgs = [m.change.org_id for m in items]
    ids = [m.change.zoho_id for m in items]
    await conn.execute(statements.lock, orgs, ids)
    records = await conn.fetch(
        statements.winners, orgs, ids, [m.modified for m in items], [m.deleted for m in items]
    )
    won = {(r[0], r[1]) for r in records}
    winners = [
        m
        for m in items
        if (m.change.org_id, m.change.zoho_id) in won and (m.deleted or m.children is not None)
    ]
    rows = [row for m in winners if not m.deleted for row in m.children or ()]
    if rows:
        await conn.execute(statements.upsert, _json(rows))
    if winners:
        await conn.execute(
            statements.retire,
            [m.change.org_id for m in winners],
            [m.change.zoho_id for m in winners],
            [m.modified for m in winners],
            [r["org_id"] for r in rows],
            [r["item_id"] for r in rows],
            [r["warehouse_id"] for r in rows],
        )
    deleted = [m for m in winners if m.deleted]
    if deleted:
        await conn.execute(
            statements.tombstone,
            [m.change.org_id for m in deleted],
            [m.change.zoho_id for m in deleted],
            [m.modified for m in deleted],
            [m.change.source for m in deleted],
        )
    return won


async def write_changes(conn: DbConnection, mapped: Sequence[MappedChange]) -> set[int]:
    """Write a batch inside the caller's transaction; returns the indices of the changes applied.

    A change is not applied when a newer version is already stored (or comes later in the same
    batch): that is the monotonic rule doing its job, not an error. Database errors propagate
    (the caller decides between retrying the batch and isolating a poison record).
    """
    winners = reduce_batch(mapped)
    by_spec: dict[MirrorSpec, list[int]] = defaultdict(list)
    for index in sorted(winners.values(), key=lambda i: mapped[i].change.key):
        by_spec[mapped[index].spec].append(index)
    applied: set[int] = set()
    for spec, indices in by_spec.items():
        items = [mapped[i] for i in indices]
        if spec.kind == "stock":
            won = await _write_stock(conn, spec, items)
        else:
            won = await _write_records(conn, spec, items)
        applied.update(
            i for i in indices if (mapped[i].change.org_id, mapped[i].change.zoho_id) in won
        )
    return applied
