"""Decoding, dedup keys and error classification: what is retried and what is poison."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import pytest

from processor.errors import RecordFailedError
from processor.pipeline import BatchProcessor, classify, decode
from processor.records import Item, dedup_key
from processor.settings import Settings
from tds_common.errors import InvalidMessageError, TransientError, UpstreamUnavailableError
from tests.unit.mirror import factories as f


@dataclass
class Record:
    value: bytes | None
    topic: str = "t"
    partition: int = 0
    offset: int = 7
    key: bytes | None = None


def test_decode_marks_what_can_never_be_processed() -> None:
    assert decode(Record(None)).error is not None
    bad = decode(Record(b"{nope"))
    assert isinstance(bad.error, InvalidMessageError) and bad.dedup_key == "invalid:t:0:7"
    unknown = decode(Record(f.envelope("salesorders", "1", {}).to_bytes()))
    assert unknown.error is not None and "salesorders" in str(unknown.error)
    good = decode(Record(f.envelope("products", "1", f.product("1")).to_bytes()))
    assert good.error is None and good.envelope is not None and good.entity == "products"


def test_versioned_events_share_a_dedup_key_thin_ones_only_per_delivery() -> None:
    one = f.envelope("products", "1", f.product("1", version=2))
    again = f.envelope("products", "1", f.product("1", version=2))
    assert dedup_key(one) == dedup_key(again)
    assert dedup_key(one).startswith(one.dedup_key + ":")  # the contract's key, plus content
    # Another edit in the same second: same version, another content, another key.
    other = f.envelope("products", "1", f.product("1", version=2, name="Renamed"))
    assert dedup_key(other) != dedup_key(one)
    thin = f.envelope("stock", "1", {"item_id": "1"})
    other_thin = f.envelope("stock", "1", {"item_id": "1"})
    assert thin.last_modified_time is None
    assert dedup_key(thin) != dedup_key(other_thin)
    assert dedup_key(thin) == dedup_key(thin.model_copy())  # a redelivery of the same event


def _pg_error(cls: type[asyncpg.PostgresError]) -> asyncpg.PostgresError:
    return cls("boom")


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (OSError("refused"), True),
        (TimeoutError(), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("gone"), True),
        (asyncpg.exceptions.AdminShutdownError("shutdown"), True),
        (asyncpg.exceptions.DeadlockDetectedError("deadlock"), True),
        (asyncpg.exceptions.UndefinedTableError("no table"), True),
        (asyncpg.exceptions.UntranslatableCharacterError("\\u0000"), False),
        (asyncpg.exceptions.NumericValueOutOfRangeError("overflow"), False),
        (asyncpg.exceptions.NotNullViolationError("null"), False),
        (UpstreamUnavailableError("proxy"), True),
        (InvalidMessageError("bad"), False),
        (KeyError("surprise"), False),
    ],
)
def test_failures_are_classified_by_what_retrying_can_do(exc: Exception, transient: bool) -> None:
    assert isinstance(classify(exc), TransientError) is transient


def test_a_partition_stops_at_its_first_deferred_or_failing_record() -> None:
    from processor.errors import RecordFailedError
    from processor.pipeline import hold_behind_deferred
    from processor.records import Item

    failing = Item(Record(b"", partition=0, offset=1), error=RecordFailedError("HTTP 500"))
    behind = [Item(Record(b"", partition=0, offset=o)) for o in (2, 3)]
    behind[1].error = RecordFailedError("HTTP 500")  # fails too, but is not counted now
    waiting = Item(Record(b"", partition=1, offset=5), outcome="deferred")
    after_wait = Item(Record(b"", partition=1, offset=6), outcome="duplicate")
    before = Item(Record(b"", partition=1, offset=4))
    elsewhere = Item(Record(b"", partition=2, offset=9))
    items = [*behind, failing, after_wait, waiting, before, elsewhere]
    hold_behind_deferred(items)
    assert [i.outcome for i in behind] == ["held", "held"]
    assert failing.outcome == "pending" and after_wait.outcome == "held"
    assert before.outcome == elsewhere.outcome == "pending"


def test_a_program_limit_is_the_records_own_failure() -> None:
    from processor.errors import RecordFailedError

    error = classify(asyncpg.exceptions.ProgramLimitExceededError("index row size 6120 exceeds"))
    assert isinstance(error, RecordFailedError)  # bounded attempts, then parked


def _processor() -> BatchProcessor:
    # Preparing needs no database, no zoho-proxy and no DLQ.
    return BatchProcessor(None, None, None, Settings())  # type: ignore[arg-type]


def _products(count: int) -> list[Record]:
    return [
        Record(f.envelope("products", str(n), f.product(str(n))).to_bytes(), offset=n)
        for n in range(count)
    ]


async def test_preparing_a_batch_lets_the_write_before_it_go_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("processor.pipeline.PREPARE_SLICE_SECONDS", 0.0)  # a turn per record
    turns = 0

    async def the_write_before() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(the_write_before())
    await asyncio.sleep(0)
    before = turns
    batch = await _processor().prepare(_products(20))
    running.cancel()
    assert turns - before >= 20
    # Complete events come out mapped and rendered: the write only checks and sends.
    assert all(i.error is None and i.mapped is not None for i in batch.items)
    assert all(i.inbox_json and i.mapped and "upsert_json" in vars(i.mapped) for i in batch.items)


async def test_a_record_that_breaks_preparing_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(record: Record) -> Item:
        if record.offset == 1:
            raise RuntimeError("a bug this record alone meets")
        return decode(record)

    monkeypatch.setattr("processor.pipeline.decode", broken)
    batch = await _processor().prepare(_products(3))
    assert [type(i.error) for i in batch.items] == [type(None), RecordFailedError, type(None)]
    assert batch.items[1].record.offset == 1 and batch.items[1].envelope is None
