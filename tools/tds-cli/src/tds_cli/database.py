"""PostgreSQL itself (``DATABASE_URL``), for ``tds doctor``'s direct checks only: that it answers,
that every migration is applied, which dead letters aged out. Every other command goes through
the services' APIs."""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg.rows import dict_row

from tds_cli.api import CommandError

CONNECT_TIMEOUT_SECONDS: Final = 5


def connect(database_url: str) -> psycopg.Connection[dict[str, Any]]:
    try:
        return psycopg.connect(
            database_url, connect_timeout=CONNECT_TIMEOUT_SECONDS, row_factory=dict_row
        )
    except psycopg.OperationalError as exc:
        # psycopg's message names host and port, never the password.
        raise CommandError(f"PostgreSQL unreachable: {' '.join(str(exc).split())}") from exc
