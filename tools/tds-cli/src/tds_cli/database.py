"""What no API serves yet, read from PostgreSQL (``DATABASE_URL``): the list of writes."""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg.rows import dict_row

from tds_cli.api import CommandError

CONNECT_TIMEOUT_SECONDS: Final = 5

WRITES: Final = """
SELECT id, org_id, entity, op, local_ref, zoho_id, status, attempts, left(error, 120) AS error,
    created_at, applied_at
FROM tds_outbox
WHERE (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY id DESC LIMIT %(limit)s
"""


def connect(database_url: str) -> psycopg.Connection[dict[str, Any]]:
    try:
        return psycopg.connect(
            database_url, connect_timeout=CONNECT_TIMEOUT_SECONDS, row_factory=dict_row
        )
    except psycopg.OperationalError as exc:
        # psycopg's message names host and port, never the password.
        raise CommandError(f"PostgreSQL unreachable: {' '.join(str(exc).split())}") from exc


def fetch_all(database_url: str, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connect(database_url) as conn:
        try:
            return conn.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise CommandError(f"PostgreSQL refused the query: {str(exc).splitlines()[0]}") from exc
