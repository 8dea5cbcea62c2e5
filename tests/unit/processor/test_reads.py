"""Background reads: one per record, shared by the events it covers, asked again after a failure."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from processor.errors import ProxyRecordError
from processor.proxy import RecordFetcher
from processor.reads import ThinReads
from tds_common.proxy_client import ProxyClient

RECORD = ("60000000001", "stock", "42")
PARTITION = ("events", 0)


def _reads(
    answers: list[httpx.Response], gate: asyncio.Event | None = None
) -> tuple[ThinReads, list[str]]:
    calls: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if gate is not None:
            await gate.wait()
        return answers.pop(0)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://proxy.test")
    return ThinReads(RecordFetcher(ProxyClient(http)), concurrency=2), calls


def _ok(version: int) -> httpx.Response:
    record: dict[str, Any] = {"item_id": "42", "version": version}
    body = {"entity": "products", "source": "books", "organization_id": "7", "record": record}
    return httpx.Response(200, json=body)


async def test_events_already_in_kafka_when_a_read_started_share_it() -> None:
    gate = asyncio.Event()
    reads, calls = _reads([_ok(1), _ok(2)], gate)
    first = reads.read(RECORD, PARTITION, offset=3, covers_through=9)
    copy = reads.read(RECORD, PARTITION, offset=9, covers_through=9)  # in the same batch
    assert copy is first
    gate.set()
    assert (await first) == {"item_id": "42", "version": 1}
    again = reads.read(RECORD, PARTITION, offset=5, covers_through=12)  # deferred, polled again
    assert again is first and again.done()
    later = reads.read(RECORD, PARTITION, offset=10, covers_through=12)  # produced afterwards
    assert later is not first
    assert (await later) == {"item_id": "42", "version": 2}
    assert calls == ["/v1/stock/42", "/v1/stock/42"]


async def test_a_failed_read_is_asked_again_after_its_batch() -> None:
    reads, calls = _reads([httpx.Response(502), _ok(1)])
    failed = reads.read(RECORD, PARTITION, offset=3, covers_through=3)
    await asyncio.wait({failed})
    assert isinstance(failed.exception(), ProxyRecordError)
    assert reads.read(RECORD, PARTITION, offset=3, covers_through=3) is failed  # same batch
    reads.forget_failures()
    retried = reads.read(RECORD, PARTITION, offset=3, covers_through=3)
    assert retried is not failed and (await retried) is not None
    assert len(calls) == 2


async def test_close_cancels_reads_still_running() -> None:
    reads, _ = _reads([_ok(1)], asyncio.Event())
    task = reads.read(RECORD, PARTITION, offset=1, covers_through=1)
    await asyncio.sleep(0)
    await reads.close()
    assert task.cancelled() and len(reads) == 0
