"""Schema migrations: versioned, forward-only SQL files applied with yoyo-migrations.

The files live in ``tds_common/migrations`` (``NNNN.description.sql``). Every change must be
backward compatible with the previous release (add columns and tables; drop only in a later
release), so ``helm rollback`` works against the newest schema. yoyo records what it applied and
holds a lock while it works, so concurrent runs (two migration Jobs, parallel tests) are safe.

Run: ``python -m tds_common.migrate`` (uses ``DATABASE_URL``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Final

from yoyo import get_backend, read_migrations

from tds_common.settings import LOCAL_DATABASE_URL

logger = logging.getLogger(__name__)

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"


def yoyo_url(database_url: str) -> str:
    """yoyo speaks psycopg 3 through the ``postgresql+psycopg`` scheme."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def apply_migrations(database_url: str) -> list[str]:
    """Apply what is missing; returns the ids of the migrations applied now."""
    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    applied = [migration.id for migration in pending]
    if applied:
        logger.info("applied migrations", extra={"migrations": applied})
    return applied


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    applied = apply_migrations(os.environ.get("DATABASE_URL", LOCAL_DATABASE_URL))
    logger.info("schema up to date (%d applied now)", len(applied))


if __name__ == "__main__":
    main()
