"""A page's rows: a record the database refuses (data or constraint) fails alone; a deadlock or
a lost connection is the database's and fails nothing (the page is retried whole)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from bulk_sync import context
from bulk_sync.context import PageResult
from tds_common.mirror import Change, MappedChange
from tests.unit.mirror import factories as f


class Conn:
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield


def _page(*ids: str) -> PageResult:
    page = PageResult()
    for zoho_id in ids:
        page.add(Change("customers", f.ORG, zoho_id, "upsert", f.customer(zoho_id), "books"))
    return page


def _refusing(monkeypatch: pytest.MonkeyPatch, bad: str, error: Exception) -> list[str]:
    written: list[str] = []

    async def write_changes(conn: Any, changes: Sequence[MappedChange]) -> set[int]:
        if any(c.change.zoho_id == bad for c in changes):
            raise error
        written.extend(c.change.zoho_id for c in changes)
        return set(range(len(changes)))

    monkeypatch.setattr(context, "write_changes", write_changes)
    return written


@pytest.mark.parametrize(
    "error",
    [asyncpg.UniqueViolationError("duplicate key"), asyncpg.InvalidTextRepresentationError("x")],
)
async def test_a_record_the_database_refuses_fails_alone(
    monkeypatch: pytest.MonkeyPatch, error: asyncpg.PostgresError
) -> None:
    written = _refusing(monkeypatch, "2", error)
    page = _page("1", "2", "3")
    assert await context._write(Conn(), page) == (2, 1)
    assert written == ["1", "3"]
    assert page.errors == [f"customers 2: PostgreSQL refused it ({error.sqlstate})"]


async def test_a_deadlock_is_not_the_records_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    written = _refusing(monkeypatch, "2", asyncpg.DeadlockDetectedError("deadlock"))
    page = _page("1", "2", "3")
    with pytest.raises(asyncpg.DeadlockDetectedError):
        await context._write(Conn(), page)
    assert written == [] and page.errors == []
