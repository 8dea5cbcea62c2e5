"""Whose fault a database error is, the connection translation, and the isolating writer."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import pytest

from tds_common.db import database_unavailable_as_error
from tds_common.db_errors import DbFault, db_fault, is_record_fault, write_isolating
from tds_common.errors import UpstreamUnavailableError


@pytest.mark.parametrize(
    ("exc", "fault"),
    [
        (asyncpg.InvalidTextRepresentationError("bad"), DbFault.RECORD),  # 22P02
        (asyncpg.NumericValueOutOfRangeError("big"), DbFault.RECORD),  # 22003
        (asyncpg.UniqueViolationError("twice"), DbFault.RECORD),  # 23505
        (asyncpg.NotNullViolationError("null"), DbFault.RECORD),  # 23502
        (asyncpg.ProgramLimitExceededError("index row too large"), DbFault.RECORD_SIZE),  # 54000
        (asyncpg.DeadlockDetectedError("deadlock"), DbFault.CONFLICT),  # 40P01
        (asyncpg.SerializationError("serialize"), DbFault.CONFLICT),  # 40001
        (asyncpg.AdminShutdownError("shutdown"), DbFault.UNAVAILABLE),  # 57P01
        (asyncpg.CannotConnectNowError("starting"), DbFault.UNAVAILABLE),  # 57P03
        (asyncpg.ConnectionDoesNotExistError("gone"), DbFault.UNAVAILABLE),
        (ConnectionResetError("reset"), DbFault.UNAVAILABLE),
        (TimeoutError(), DbFault.UNAVAILABLE),
        (asyncpg.UndefinedTableError("no table"), DbFault.DATABASE),  # 42P01
        (asyncpg.InsufficientPrivilegeError("no"), DbFault.DATABASE),  # 42501
        (ValueError("not a database error"), None),
    ],
)
def test_each_error_is_someones_fault(exc: BaseException, fault: DbFault | None) -> None:
    assert db_fault(exc) is fault
    assert is_record_fault(exc) is (fault in {DbFault.RECORD, DbFault.RECORD_SIZE})


async def test_a_lost_connection_becomes_unavailable_without_its_text() -> None:
    with pytest.raises(UpstreamUnavailableError) as caught:
        with database_unavailable_as_error():
            raise ConnectionRefusedError("password=secret host=db")
    assert str(caught.value) == "PostgreSQL unreachable: ConnectionRefusedError"
    with pytest.raises(asyncpg.UniqueViolationError):  # the data's fault passes through
        with database_unavailable_as_error():
            raise asyncpg.UniqueViolationError("twice")


class Table:
    """A write target that refuses ``bad`` values with ``error``; each write is all or nothing."""

    def __init__(self, bad: set[int], error: Exception) -> None:
        self.rows: list[int] = []
        self.calls: list[list[int]] = []
        self.bad, self.error = bad, error

    async def write(self, items: Sequence[int]) -> None:
        self.calls.append(list(items))
        if self.bad & set(items):
            raise self.error
        self.rows.extend(items)


async def test_a_good_batch_is_written_once() -> None:
    table = Table(set(), asyncpg.UniqueViolationError("x"))
    assert await write_isolating(table.write, [1, 2, 3], failed=_never) is True
    assert table.calls == [[1, 2, 3]] and table.rows == [1, 2, 3]


async def test_a_bad_record_costs_only_itself() -> None:
    table = Table({2}, asyncpg.UniqueViolationError("x"))
    refused: list[tuple[int, BaseException]] = []

    async def failed(item: int, exc: BaseException) -> None:
        refused.append((item, exc))

    assert await write_isolating(table.write, [3, 2, 1], failed=failed, order=lambda i: i) is False
    assert table.rows == [1, 3]  # each good record exactly once, in order
    assert [item for item, _ in refused] == [2]


async def test_a_failure_that_is_not_a_records_propagates_and_writes_nothing() -> None:
    table = Table({2}, asyncpg.DeadlockDetectedError("x"))
    with pytest.raises(asyncpg.DeadlockDetectedError):
        await write_isolating(table.write, [1, 2, 3], failed=_never)
    assert table.calls == [[1, 2, 3]] and table.rows == []


async def test_skipped_records_are_left_out_and_failed_may_stop_the_rest() -> None:
    table = Table({2}, asyncpg.UniqueViolationError("x"))

    async def failed(item: int, exc: BaseException) -> None:
        raise RuntimeError("the database went away meanwhile") from exc

    with pytest.raises(RuntimeError):
        await write_isolating(table.write, [1, 2, 3], failed=failed)
    assert table.rows == [1]  # 3 was not written: the failure stopped the batch
    table = Table({2}, asyncpg.UniqueViolationError("x"))
    await write_isolating(table.write, [1, 2, 3], failed=_record, skip=lambda i: i == 3)
    assert table.rows == [1]


async def _never(item: int, exc: BaseException) -> None:
    raise AssertionError(f"{item} should not fail: {exc!r}")


async def _record(item: int, exc: BaseException) -> None:
    return None
