"""The mirror's reads for bulk-sync (tds_common.mirror.reads) against the migrated schema.

Each test writes rows of an organization of its own through the shared write path, then asks.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from tds_common.catalogue import get_entity
from tds_common.mirror import Change, map_change, write_changes
from tds_common.mirror.reads import (
    Completeness,
    StoredRecord,
    completeness_by_org,
    details_pending_count,
    least_recently_synced,
    live_rows_created_between,
    newest_details_pending,
    stored_records,
)
from tests.unit.mirror import factories as f
from tests.utils.zoho import unique_org


def _id() -> str:
    return str(260815000000000000 + uuid.uuid4().int % 10**12)


def _at(minutes: int) -> datetime:
    return f.BASE_TIME + timedelta(minutes=minutes)


async def _write(pool: asyncpg.Pool, *changes: Change) -> None:
    async with pool.acquire() as conn, conn.transaction():
        written = await write_changes(conn, [map_change(c) for c in changes])
    assert written == set(range(len(changes)))


def _upsert(entity: str, org: str, zoho_id: str, record: dict[str, Any]) -> Change:
    source = "inventory" if entity == "stock" else "books"
    return Change(entity, org, zoho_id, "upsert", record, source)


def _delete(entity: str, org: str, zoho_id: str, minutes: int) -> Change:
    return Change(entity, org, zoho_id, "delete", {}, "webhook", last_modified_time=_at(minutes))


def _summary(invoice_id: str, *, version: int) -> dict[str, Any]:
    """An invoice as a list shows it: no line items."""
    record = f.invoice(invoice_id, version=version)
    del record["line_items"]
    return record


async def test_stored_records_are_the_rows_of_the_asked_ids(db_pool: asyncpg.Pool) -> None:
    spec, org = get_entity("customers"), unique_org()
    live, deleted, absent, other_org = _id(), _id(), _id(), _id()
    await _write(
        db_pool,
        _upsert("customers", org, live, f.customer(live, version=2, email="a@example.com")),
        _upsert("customers", org, deleted, f.customer(deleted)),
        _upsert("customers", unique_org(), other_org, f.customer(other_org)),
    )
    await _write(db_pool, _delete("customers", org, deleted, 5))

    async with db_pool.acquire() as conn:
        found = await stored_records(conn, spec, org, [live, deleted, absent, other_org])
        nothing = await stored_records(conn, spec, org, [])

    assert set(found) == {live, deleted}
    assert found[live] == StoredRecord(
        f.customer(live, version=2, email="a@example.com"), _at(2), deleted=False
    )
    assert found[deleted].deleted and found[deleted].modified == _at(5)
    assert nothing == {}


async def test_live_rows_created_between_bounds_exclusive(db_pool: asyncpg.Pool) -> None:
    spec, org = get_entity("customers"), unique_org()
    ids = {minutes: _id() for minutes in (-40, -30, -20, -10, 0)}
    await _write(
        db_pool,
        *(
            _upsert("customers", org, i, f.customer(i, version=m, created_time=f.stamp(m)))
            for m, i in ids.items()
        ),
    )
    await _write(db_pool, _delete("customers", org, ids[-20], 1))

    async with db_pool.acquire() as conn:
        found = await live_rows_created_between(
            conn, spec, org, after=_at(-40), before=_at(0), excluding=[ids[-10]]
        )
        everything = await live_rows_created_between(
            conn, spec, org, after=_at(-41), before=_at(1), excluding=[]
        )

    # -40 and 0 are the bounds, -20 is deleted, -10 is excluded.
    assert found == {ids[-30]: _at(-30)}
    assert everything == {ids[m]: _at(m) for m in (-40, -30, -10, 0)}


async def test_tables_without_a_creation_time_have_no_rows_created_between(
    db_pool: asyncpg.Pool,
) -> None:
    async with db_pool.acquire() as conn:
        found = await live_rows_created_between(
            conn,
            get_entity("warehouses"),
            unique_org(),
            after=_at(-60),
            before=_at(60),
            excluding=[],
        )
    assert found == {}


async def test_details_pending_are_live_summaries_newest_first(db_pool: asyncpg.Pool) -> None:
    spec, org = get_entity("invoices"), unique_org()
    old, new, newest, complete, deleted = _id(), _id(), _id(), _id(), _id()
    await _write(
        db_pool,
        _upsert("invoices", org, old, _summary(old, version=1)),
        _upsert("invoices", org, newest, _summary(newest, version=3)),
        _upsert("invoices", org, new, _summary(new, version=2)),
        _upsert("invoices", org, complete, f.invoice(complete, version=4)),
        _upsert("invoices", org, deleted, _summary(deleted, version=5)),
    )
    await _write(db_pool, _delete("invoices", org, deleted, 6))

    async with db_pool.acquire() as conn:
        count = await details_pending_count(conn, spec, org)
        first_two = await newest_details_pending(conn, spec, org, excluding=[], limit=2)
        rest = await newest_details_pending(conn, spec, org, excluding=[newest, new], limit=10)

    assert count == 3
    assert list(first_two.items()) == [(newest, _at(3)), (new, _at(2))]
    assert rest == {old: _at(1)}


async def test_entities_without_line_items_have_no_details_pending(
    db_pool: asyncpg.Pool,
) -> None:
    spec, org = get_entity("customers"), unique_org()
    zoho_id = _id()
    await _write(db_pool, _upsert("customers", org, zoho_id, f.customer(zoho_id)))
    async with db_pool.acquire() as conn:
        assert await details_pending_count(conn, spec, org) == 0
        assert await newest_details_pending(conn, spec, org, excluding=[], limit=5) == {}


async def test_completeness_counts_live_rows_and_pending_details_per_org(
    db_pool: asyncpg.Pool,
) -> None:
    org, other = unique_org(), unique_org()
    summary, complete, deleted, elsewhere = _id(), _id(), _id(), _id()
    await _write(
        db_pool,
        _upsert("invoices", org, summary, _summary(summary, version=1)),
        _upsert("invoices", org, complete, f.invoice(complete)),
        _upsert("invoices", org, deleted, _summary(deleted, version=1)),
        _upsert("invoices", other, elsewhere, f.invoice(elsewhere)),
        _upsert("customers", org, summary, f.customer(summary)),
    )
    await _write(db_pool, _delete("invoices", org, deleted, 2))

    async with db_pool.acquire() as conn:
        invoices = await completeness_by_org(conn, get_entity("invoices"))
        customers = await completeness_by_org(conn, get_entity("customers"))

    assert invoices[org] == Completeness(rows=2, details_pending=1)
    assert invoices[other] == Completeness(rows=1, details_pending=0)
    assert customers[org] == Completeness(rows=1, details_pending=0)


async def test_least_recently_synced_items_come_first(db_pool: asyncpg.Pool) -> None:
    spec, org = get_entity("stock"), unique_org()
    first, second, third, gone = _id(), _id(), _id(), _id()
    moments: list[datetime] = []
    for item in (first, second, gone, third):
        await _write(db_pool, _upsert("stock", org, item, f.stock(item)))
        moments.append(await db_pool.fetchval("SELECT clock_timestamp()"))
    await _write(db_pool, _delete("stock", org, gone, 1))
    later = moments[-1] + timedelta(seconds=1)

    async with db_pool.acquire() as conn:
        every = await least_recently_synced(
            conn, spec, org, synced_before=later, excluding=[], limit=10
        )
        not_first = await least_recently_synced(
            conn, spec, org, synced_before=later, excluding=[first], limit=1
        )
        before_third = await least_recently_synced(
            conn, spec, org, synced_before=moments[2], excluding=[], limit=10
        )

    # Two warehouses per item: an item counts once; a deleted item is not refreshed.
    assert every == [first, second, third]
    assert not_first == [second]
    assert before_third == [first, second]
