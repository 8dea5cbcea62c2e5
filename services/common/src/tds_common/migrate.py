"""Schema migrations: versioned, forward-only SQL files applied with yoyo-migrations.

The files live in ``tds_common/migrations`` (``NNNN.description.sql``). Every change must be
backward compatible with the previous release (add columns and tables; drop only in a later
release), so ``helm rollback`` works against the newest schema. yoyo records what it applied and
holds a lock while it works, so concurrent runs (two migration Jobs, parallel tests) are safe.

Every migration runs with a ``lock_timeout`` and a ``statement_timeout``: a DDL statement that
waits for a table lock queues every later write on that table behind it, so it gives up after a
few seconds instead, and the run tries again later (``lock_retries`` times). Migrations that
touch large tables are written so they never hold a write-blocking lock for long: constraints
are added ``NOT VALID`` and validated in a migration of their own, indexes are built
``CONCURRENTLY`` in a ``-- transactional: false`` migration.

Run: ``python -m tds_common.migrate`` (uses ``DATABASE_URL`` and ``TDS_MIGRATION_*``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from pydantic import Field
from pydantic_settings import BaseSettings
from yoyo import get_backend, read_migrations

from tds_common.settings import LOCAL_DATABASE_URL, service_config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"

_INVALID_INDEXES: Final = """
SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
"""


class MigrationSettings(BaseSettings):
    """``TDS_MIGRATION_*``: how long a migration may wait and run."""

    model_config = service_config("TDS_MIGRATION_")

    lock_timeout_seconds: float = Field(5.0, gt=0)
    """A statement waiting longer than this for a lock fails (and the run is retried)."""
    statement_timeout_seconds: float = Field(1800.0, gt=0)
    """One statement's ceiling; index builds on large tables need minutes."""
    lock_retries: int = Field(10, ge=0)
    """How many times a run that hit ``lock_timeout`` starts again."""
    retry_delay_seconds: float = Field(2.0, ge=0)
    """Pause before such a retry, so the writes queued meanwhile drain."""


class InvalidIndexError(RuntimeError):
    """A ``CREATE INDEX CONCURRENTLY`` failed half way and left an invalid index behind."""


def yoyo_url(database_url: str) -> str:
    """yoyo speaks psycopg 3 through the ``postgresql+psycopg`` scheme."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def with_timeouts(url: str, settings: MigrationSettings) -> str:
    """The URL with libpq ``options`` that set both timeouts for the whole session.

    Session settings hold for every migration of the run, transactional or not.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    timeouts = (
        f"-c lock_timeout={int(settings.lock_timeout_seconds * 1000)} "
        f"-c statement_timeout={int(settings.statement_timeout_seconds * 1000)}"
    )
    query["options"] = f"{query['options']} {timeouts}" if "options" in query else timeouts
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def _apply_once(database_url: str, settings: MigrationSettings) -> list[str]:
    backend = get_backend(with_timeouts(yoyo_url(database_url), settings))
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        invalid = [row[0] for row in backend.execute(_INVALID_INDEXES).fetchall()]
    finally:
        backend.connection.close()
    if invalid:
        # IF NOT EXISTS would keep skipping them: an operator drops them and migrates again.
        raise InvalidIndexError(
            f"invalid indexes {invalid}: DROP INDEX CONCURRENTLY each, then migrate again"
        )
    return [migration.id for migration in pending]


def apply_migrations(database_url: str, settings: MigrationSettings | None = None) -> list[str]:
    """Apply what is missing; returns the ids of the migrations applied now."""
    settings = settings or MigrationSettings()
    attempt = 0
    while True:
        try:
            applied = _apply_once(database_url, settings)
            break
        except psycopg.errors.LockNotAvailable:
            attempt += 1
            if attempt > settings.lock_retries:
                raise
            logger.warning(
                "a migration waited too long for a lock; retrying",
                extra={"attempt": attempt, "lock_timeout_seconds": settings.lock_timeout_seconds},
            )
            time.sleep(settings.retry_delay_seconds)
    if applied:
        logger.info("applied migrations", extra={"migrations": applied})
    return applied


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    applied = apply_migrations(os.environ.get("DATABASE_URL", LOCAL_DATABASE_URL))
    logger.info("schema up to date (%d applied now)", len(applied))


if __name__ == "__main__":
    main()
