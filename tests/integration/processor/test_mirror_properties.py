"""Property: whatever the order and batching of versions and deletes, the stored state is the
one the monotonic rule defines (newest version; a delete at the newest version is final)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tds_common.mirror import Change, map_change, write_changes
from tests.unit.mirror import factories as f

Op = tuple[str, int]  # ("upsert" | "delete", version)

OPS = st.lists(
    st.tuples(st.sampled_from(["upsert", "upsert", "delete"]), st.integers(0, 4)),
    min_size=1,
    max_size=8,
)


def _change(entity: str, zoho_id: str, op: Op) -> Change:
    kind, version = op
    if kind == "delete":
        id_field = "invoice_id" if entity == "invoices" else "item_id"
        tombstone = {id_field: zoho_id, "last_modified_time": f.stamp(version)}
        return f.change(entity, zoho_id, tombstone, op="delete")
    if entity == "invoices":
        return f.change(
            entity,
            zoho_id,
            f.invoice(zoho_id, version=version, lines=version + 1, status=f"v{version}"),
        )
    return f.change(
        entity,
        zoho_id,
        f.stock(zoho_id, version=version, warehouses=version + 1, on_hand=str(version)),
    )


def _expected(ops: list[Op]) -> tuple[bool, int | None]:
    """(alive, version of the content) under the rule."""
    top = max(v for _, v in ops)
    upserts = [v for kind, v in ops if kind == "upsert"]
    deleted_at_top = any(kind == "delete" and v == top for kind, v in ops)
    if not upserts or deleted_at_top:
        return False, None
    return True, top


async def _apply(pool: asyncpg.Pool, changes: list[Change], cuts: list[int]) -> None:
    bounds = sorted({0, len(changes), *(c % (len(changes) + 1) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        mapped = [map_change(c) for c in changes[start:end]]
        async with pool.acquire() as conn, conn.transaction():
            await write_changes(conn, mapped)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, cuts=st.lists(st.integers(0, 8), max_size=3))
async def test_invoices_end_in_the_state_the_rule_defines(
    db_pool: asyncpg.Pool, ops: list[Op], cuts: list[int]
) -> None:
    invoice_id = str(uuid.uuid4().int % 10**15)
    await _apply(db_pool, [_change("invoices", invoice_id, op) for op in ops], cuts)
    row = await db_pool.fetchrow(
        "SELECT status, deleted_at FROM zoho.invoices WHERE invoice_id = $1", invoice_id
    )
    assert row is not None
    alive, version = _expected(ops)
    assert (row["deleted_at"] is None) is alive
    if alive:
        assert row["status"] == f"v{version}"
        lines = await db_pool.fetchval(
            "SELECT count(*) FROM zoho.invoice_line_items WHERE invoice_id = $1 "
            "AND deleted_at IS NULL",
            invoice_id,
        )
        assert lines == (version or 0) + 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, cuts=st.lists(st.integers(0, 8), max_size=3))
async def test_stock_ends_in_the_state_the_rule_defines(
    db_pool: asyncpg.Pool, ops: list[Op], cuts: list[int]
) -> None:
    item_id = str(uuid.uuid4().int % 10**15)
    await _apply(db_pool, [_change("stock", item_id, op) for op in ops], cuts)
    rows: list[Any] = await db_pool.fetch(
        "SELECT stock_on_hand FROM zoho.stock_levels WHERE item_id = $1 AND deleted_at IS NULL",
        item_id,
    )
    alive, version = _expected(ops)
    if alive:
        assert len(rows) == (version or 0) + 1
        assert {int(r["stock_on_hand"]) for r in rows} == {version}
    else:
        assert rows == []
