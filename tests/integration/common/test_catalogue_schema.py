"""The catalogue's mirror tables against the migrated schema: names, columns, types and keys.

Every table, id column and typed column the catalogue (``tds_common.catalogue``) writes must
exist with the type its converter produces, and no table in schema ``zoho`` may be unknown to
the catalogue: a new entity's spec and its migration cannot drift apart.
"""

from __future__ import annotations

from typing import Final

import asyncpg

from tds_common.catalogue import ENTITIES
from tds_common.columns import PG_TYPES, Column

COMMON_TAIL: Final = {
    "org_id": "text",
    "raw": "jsonb",
    "zoho_last_modified_time": "timestamptz",
    "source": "text",
    "synced_at": "timestamptz",
    "deleted_at": "timestamptz",
    "observed_at": "timestamptz",
    "observed_by": "text",
}


def _expected_tables() -> dict[str, tuple[tuple[str, ...], tuple[Column, ...]]]:
    """Table → (primary key after org_id, typed columns), as the catalogue states them."""
    tables: dict[str, tuple[tuple[str, ...], tuple[Column, ...]]] = {}
    for spec in ENTITIES.values():
        keys = (spec.id_field, "warehouse_id") if spec.kind == "stock" else (spec.id_field,)
        tables[spec.table] = (keys, spec.columns)
        if spec.child is not None:
            tables[spec.child.table] = ((spec.id_field, spec.child.key_column), spec.child.columns)
    return tables


async def _types(pool: asyncpg.Pool, names: dict[str, str]) -> dict[str, str]:
    """PostgreSQL's canonical spelling of each type (``timestamptz`` → ``timestamp with …``)."""
    return {n: await pool.fetchval("SELECT $1::regtype::text", t) for n, t in names.items()}


async def _schema(pool: asyncpg.Pool, table: str) -> tuple[dict[str, str], set[str]]:
    columns = await pool.fetch(
        "SELECT attname, atttypid::regtype::text AS type FROM pg_attribute "
        "WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
        table,
    )
    key = await pool.fetch(
        "SELECT a.attname FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = $1::regclass AND i.indisprimary",
        table,
    )
    return {r["attname"]: r["type"] for r in columns}, {r["attname"] for r in key}


async def test_every_catalogue_table_exists_with_its_columns_types_and_key(
    db_pool: asyncpg.Pool,
) -> None:
    for table, (keys, typed) in _expected_tables().items():
        wanted = {
            **COMMON_TAIL,
            **dict.fromkeys(keys, "text"),
            **{c.name: PG_TYPES[c.convert] for c in typed},
        }
        columns, primary_key = await _schema(db_pool, table)
        assert columns == await _types(db_pool, wanted), table
        assert primary_key == {"org_id", *keys}, table


async def test_schema_zoho_holds_only_catalogue_tables(db_pool: asyncpg.Pool) -> None:
    rows = await db_pool.fetch(
        "SELECT 'zoho.' || tablename AS name FROM pg_tables WHERE schemaname = 'zoho'"
    )
    assert {r["name"] for r in rows} == set(_expected_tables())
