"""PostgreSQL plumbing: the asyncpg pool every service uses, readiness, error translation.

JSON and JSONB columns are decoded and encoded as Python objects on every connection, so code
passes dicts, never hand-made JSON strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Final

import asyncpg

from tds_common.errors import UpstreamUnavailableError

CONNECT_TIMEOUT_SECONDS: Final = 5.0
COMMAND_TIMEOUT_SECONDS: Final = 30.0

CONNECTION_ERRORS: Final = (
    OSError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    TimeoutError,
)
"""Failures that mean "the database is not there right now", not "the data is wrong"."""


@contextmanager
def database_unavailable_as_error(what: str = "PostgreSQL unreachable") -> Iterator[None]:
    """Translate a lost or refused connection into :class:`UpstreamUnavailableError` (HTTP 503,
    a transient failure the caller retries); the exception's type, never its text, is kept."""
    try:
        yield
    except CONNECTION_ERRORS as exc:
        raise UpstreamUnavailableError(f"{what}: {type(exc).__name__}") from exc


async def _init_connection(connection: asyncpg.Connection) -> None:
    for codec in ("json", "jsonb"):
        await connection.set_type_codec(
            codec, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    server_settings: Mapping[str, str] | None = None,
) -> asyncpg.Pool:
    """Open a pool; an unreachable database becomes :class:`UpstreamUnavailableError`.

    ``server_settings`` are PostgreSQL settings for every connection of the pool (such as
    ``application_name``, or zoho-proxy's ``synchronous_commit=off``); they never reach other
    pools or sessions.
    """
    with database_unavailable_as_error():
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=CONNECT_TIMEOUT_SECONDS,
            command_timeout=COMMAND_TIMEOUT_SECONDS,
            init=_init_connection,
            server_settings=dict(server_settings) if server_settings else None,
        )
    assert pool is not None
    return pool


async def check_pool(pool: asyncpg.Pool) -> None:
    """Readiness: a round trip to the database."""
    with database_unavailable_as_error():
        await pool.fetchval("SELECT 1")
