"""Which database error is whose fault, stated once for every service.

A write can fail because of the record (its data can never be stored as it is), because of
concurrency (another transaction won; trying again succeeds), or because the database is not
there. Processor and bulk-sync treat the first as the record's failure (poison, a failed row)
and the others as the database's (the batch, page or run waits and retries); both write
through :func:`write_isolating`. A lost connection outside a write becomes
``UpstreamUnavailableError`` through :func:`tds_common.db.database_unavailable_as_error`.
SQLSTATE classes: https://www.postgresql.org/docs/current/errcodes-appendix.html.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

import asyncpg

from tds_common.db import CONNECTION_ERRORS

T = TypeVar("T")


class DbFault(enum.Enum):
    RECORD = "record"
    """SQLSTATE class 22 (data exception) or 23 (integrity constraint): the record's data."""
    RECORD_SIZE = "record_size"
    """Class 54 (program limit): the record is too large or complex for PostgreSQL; the
    record's failure, though a smaller retry of the same data may not hit it again."""
    CONFLICT = "conflict"
    """40001 serialization failure, 40P01 deadlock: another transaction won; retry."""
    UNAVAILABLE = "unavailable"
    """The connection failed, the server is shutting down or refuses connections: wait."""
    DATABASE = "database"
    """Any other PostgreSQL error (a missing table, insufficient privilege …): not the record's
    fault, so never poison."""


RECORD_CLASSES: Final = frozenset({"22", "23"})
RECORD_SIZE_CLASSES: Final = frozenset({"54"})
CONFLICT_STATES: Final = frozenset({"40001", "40P01"})


def db_fault(exc: BaseException) -> DbFault | None:
    """Whose fault a database error is; None for an exception that is not a database error."""
    if isinstance(exc, CONNECTION_ERRORS):
        return DbFault.UNAVAILABLE
    if not isinstance(exc, asyncpg.PostgresError):
        return None
    sqlstate = str(getattr(exc, "sqlstate", "") or "")
    if sqlstate[:2] in RECORD_CLASSES:
        return DbFault.RECORD
    if sqlstate[:2] in RECORD_SIZE_CLASSES:
        return DbFault.RECORD_SIZE
    if sqlstate in CONFLICT_STATES:
        return DbFault.CONFLICT
    if sqlstate[:2] in {"08", "57"}:  # connection exception, operator intervention (shutdown)
        return DbFault.UNAVAILABLE
    return DbFault.DATABASE


def is_record_fault(exc: BaseException) -> bool:
    """Whether the error is the record's own (its data or its size), never the database's."""
    return db_fault(exc) in {DbFault.RECORD, DbFault.RECORD_SIZE}


async def write_isolating(
    write: Callable[[Sequence[T]], Awaitable[None]],
    items: Sequence[T],
    *,
    isolate: Callable[[BaseException], bool] = is_record_fault,
    failed: Callable[[T, BaseException], Awaitable[None]],
    skip: Callable[[T], bool] = lambda _: False,
    order: Callable[[T], Any] | None = None,
) -> bool:
    """Write the items in one ``write`` (its own transaction); True when that worked.

    When the batch fails and ``isolate`` says the failure may be one record's, each item is
    written on its own (sorted by ``order`` if given; ``skip`` leaves some out), so one bad
    record costs only itself: an item whose write fails goes to ``failed``, which records it or
    re-raises what is not the record's fault. A failure ``isolate`` rejects propagates as it
    is, and so does anything ``failed`` raises: nothing is lost, nothing is written twice (each
    write is a transaction).
    """
    try:
        await write(items)
        return True
    except Exception as exc:
        if not isolate(exc):
            raise
    for item in sorted(items, key=order) if order else items:
        if skip(item):
            continue
        try:
            await write([item])
        except Exception as exc:
            await failed(item, exc)
    return False
