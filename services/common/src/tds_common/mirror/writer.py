"""Write mapped changes into the mirror: set-based, monotonic, children with their parent.

The one write path for entity rows: processor calls it per Kafka batch, bulk-sync per page. It
runs inside the caller's transaction (so the caller's inbox rows or checkpoint commit atomically
with the rows) and issues a fixed number of statements per table, whatever the batch size.

Within a batch, several versions of the same record are first reduced to the one that would win
anyway (the database cannot update one row twice in one statement), by the rule of
:mod:`tds_common.mirror.rules`. Rows are written in key order
so two concurrent writers lock rows in the same order and do not deadlock.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tds_common import pg_json
from tds_common.catalogue import EntitySpec
from tds_common.mirror.copy_rows import copy_text
from tds_common.mirror.mapping import ChangeKey, MappedChange
from tds_common.mirror.rules import Version, verdict
from tds_common.mirror.sql import child_statements, parent_statements, stock_statements

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # the stubs are generic, the runtime classes are not
    DbConnection: TypeAlias = (
        asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    )
else:
    DbConnection = asyncpg.Connection | PoolConnectionProxy
"""A plain connection or one borrowed from a pool."""


@dataclass(frozen=True)
class WriteOutcome:
    """What :func:`apply_changes` did with a batch, by index into it."""

    applied: set[int] = field(default_factory=set)
    conflicts: set[int] = field(default_factory=set)
    """Pushed content at the stored version (or at the version of another change in the batch)
    that disagrees with it, which no read settled: re-read the record through zoho-proxy and
    write what Zoho holds now (see :mod:`tds_common.mirror.rules`). Not applied."""
    seen_at: dict[int, datetime | None] = field(default_factory=dict)
    """Per conflict: when the content it disagrees with was seen. A read started no earlier
    settles the conflict; an older one (e.g. a cached read) does not."""


def version_of(item: MappedChange) -> Version:
    """The rule's view of a change about to be written."""
    content: Mapping[str, Any] = item.change.record
    if item.spec.kind == "stock":
        content = {row["warehouse_id"]: row["raw"] for row in item.children or ()}
    return Version(item.modified, item.deleted, item.change.observed_at, item.change.read, content)


def supersedes(new: MappedChange, current: MappedChange) -> bool:
    """Whether ``new`` replaces ``current`` (two versions of one record in one batch)."""
    return verdict(version_of(new), version_of(current)) == "win"


def _reduce(
    mapped: Sequence[MappedChange],
) -> tuple[dict[ChangeKey, int], dict[int, datetime | None]]:
    """Per record key, the change that wins within the batch; and the changes in conflict.

    A key whose best changes disagree at one version (see :func:`verdict`) has no winner: all of
    them are reported as conflicts, to be re-read.
    """
    contenders: dict[ChangeKey, list[int]] = {}
    for index, item in enumerate(mapped):
        key = item.change.key
        if key not in contenders:
            contenders[key] = [index]
            continue
        verdicts = [verdict(version_of(item), version_of(mapped[i])) for i in contenders[key]]
        if "lose" in verdicts:
            continue
        if all(v == "win" for v in verdicts):
            contenders[key] = [index]
        else:
            contenders[key].append(index)
    best = {key: ids[0] for key, ids in contenders.items() if len(ids) == 1}
    conflicts: dict[int, datetime | None] = {}
    for ids in contenders.values():
        if len(ids) > 1:
            seen = [mapped[i].change.observed_at for i in ids]
            latest = max((t for t in seen if t is not None), default=None)
            conflicts.update(dict.fromkeys(ids, latest))
    return best, conflicts


def reduce_batch(mapped: Sequence[MappedChange]) -> dict[ChangeKey, int]:
    """Per record key, the index of the version that wins within the batch."""
    return _reduce(mapped)[0]


def _json(rows: list[dict[str, Any]]) -> str:
    return pg_json.dumps(rows)


def _rows_json(items: Sequence[MappedChange]) -> str:
    """The items' parent rows as one JSON array (each row rendered once, maybe in advance)."""
    return "[" + ",".join([m.row_json for m in items]) + "]"


def _upserts_json(items: Sequence[MappedChange]) -> str:
    """:func:`_rows_json` for the upsert, which may read ``raw`` from the inbox instead."""
    return "[" + ",".join([m.upsert_json for m in items]) + "]"


Keys = set[tuple[str, str]]
Conflicts = dict[tuple[str, str], datetime | None]
"""Keys in conflict, with when the stored content was seen."""


async def _write_records(
    conn: DbConnection, spec: EntitySpec, items: list[MappedChange]
) -> tuple[Keys, Conflicts]:
    """Parent rows and their children; returns the keys written and the keys in conflict."""
    statements = parent_statements(spec)
    upserts = [m for m in items if not m.deleted]
    deletes = [m for m in items if m.deleted]
    won: Keys = set()
    won_upserts: Keys = set()
    conflicts: Conflicts = {}
    if upserts:
        records = await conn.fetch(statements.upsert, _upserts_json(upserts))
        won_upserts = {(r[0], r[1]) for r in records}
        won |= won_upserts
        lost = [m for m in upserts if (m.change.org_id, m.change.zoho_id) not in won_upserts]
        if lost:
            records = await conn.fetch(statements.conflicts, _rows_json(lost))
            conflicts = {(r[0], r[1]): r[2] for r in records}
    won_deletes: Keys = set()
    if deletes:
        records = await conn.fetch(statements.delete, _rows_json(deletes))
        won_deletes = {(r[0], r[1]) for r in records}
        won |= won_deletes
    if spec.child is None:
        return won, conflicts
    children = child_statements(spec, spec.child)
    replaced: list[MappedChange] = []
    revived: list[MappedChange] = []
    for m in upserts:
        if (m.change.org_id, m.change.zoho_id) in won_upserts:
            (revived if m.children is None else replaced).append(m)
    if replaced:
        owners = [m.change.org_id for m in replaced], [m.change.zoho_id for m in replaced]
        await conn.execute(children.clear, *owners)
        text = "".join([m.children_text for m in replaced])
        if text:
            await copy_text(conn, spec.child.table, children.columns, text)
    if revived:
        await conn.execute(
            children.revive,
            [m.change.org_id for m in revived],
            [m.change.zoho_id for m in revived],
            [m.modified for m in revived],
        )
    if won_deletes:
        ordered = sorted(won_deletes)
        await conn.execute(children.mark_deleted, [k[0] for k in ordered], [k[1] for k in ordered])
    return won, conflicts


def _stored_stock(rows: list[asyncpg.Record]) -> Version:
    """One item's stored rows as the rule's view: its newest version and how it was seen."""
    versions = [r["modified"] for r in rows if r["modified"] is not None]
    if not versions:
        return Version(None, False, None, False, {})
    top = [r for r in rows if r["modified"] == max(versions)]
    seen = max(top, key=lambda r: r["observed_at"] or datetime.min.replace(tzinfo=UTC))
    content = {r["warehouse_id"]: json.loads(r["raw"]) for r in top if not r["deleted"]}
    return Version(
        max(versions),
        all(r["deleted"] for r in top),
        seen["observed_at"],
        seen["observed_by"] == "read",
        content,
    )


async def _write_stock(
    conn: DbConnection, spec: EntitySpec, items: list[MappedChange]
) -> tuple[Keys, Conflicts]:
    statements = stock_statements(spec)
    orgs = [m.change.org_id for m in items]
    ids = [m.change.zoho_id for m in items]
    await conn.execute(statements.lock, orgs, ids)
    stored: dict[tuple[str, str], list[asyncpg.Record]] = defaultdict(list)
    for record in await conn.fetch(statements.state, orgs, ids):
        stored[(record["org_id"], record["item_id"])].append(record)
    won: Keys = set()
    conflicts: Conflicts = {}
    for m in items:
        key = (m.change.org_id, m.change.zoho_id)
        current = _stored_stock(stored.get(key, []))
        outcome = verdict(version_of(m), current)
        if outcome == "win":
            won.add(key)
        elif outcome == "conflict":
            conflicts[key] = current.observed_at
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
            [m.change.observed_at for m in deleted],
            ["read" if m.change.read else "push" for m in deleted],
        )
    return won, conflicts


async def apply_changes(conn: DbConnection, mapped: Sequence[MappedChange]) -> WriteOutcome:
    """Write a batch inside the caller's transaction; says which changes were applied and which
    are in conflict.

    A change is not applied when a newer version is already stored (or comes later in the same
    batch): that is the monotonic rule doing its job, not an error. Database errors propagate
    (the caller decides between retrying the batch and isolating a poison record).
    """
    winners, conflicts = _reduce(mapped)
    by_spec: dict[EntitySpec, list[int]] = defaultdict(list)
    for index in sorted(winners.values(), key=lambda i: mapped[i].change.key):
        by_spec[mapped[index].spec].append(index)
    outcome = WriteOutcome(conflicts=set(conflicts), seen_at=conflicts)
    for spec, indices in by_spec.items():
        items = [mapped[i] for i in indices]
        if spec.kind == "stock":
            won, clashed = await _write_stock(conn, spec, items)
        else:
            won, clashed = await _write_records(conn, spec, items)
        for i in indices:
            key = (mapped[i].change.org_id, mapped[i].change.zoho_id)
            if key in won:
                outcome.applied.add(i)
            elif key in clashed:
                outcome.conflicts.add(i)
                outcome.seen_at[i] = clashed[key]
    return outcome


async def write_changes(conn: DbConnection, mapped: Sequence[MappedChange]) -> set[int]:
    """:func:`apply_changes` for callers that only need the indices of the changes applied."""
    return (await apply_changes(conn, mapped)).applied
