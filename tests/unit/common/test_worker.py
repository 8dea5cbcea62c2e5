"""tds_common.worker: liveness of a service's background loop and its bounded stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tds_common.worker import BackgroundLoop


async def test_alive_until_the_loop_ends() -> None:
    stop = asyncio.Event()

    async def run() -> None:
        await stop.wait()

    loop = BackgroundLoop(run(), name="test-loop", label="test loop")
    assert loop.task.get_name() == "test-loop"
    await loop.alive()  # running: no complaint
    stop.set()
    await loop.task
    with pytest.raises(RuntimeError, match="the test loop stopped"):
        await loop.alive()


async def test_a_loop_that_honours_stop_finishes_its_work(caplog: pytest.LogCaptureFixture) -> None:
    stop, finished = asyncio.Event(), []

    async def run() -> None:
        await stop.wait()
        await asyncio.sleep(0)  # the batch in flight
        finished.append(True)

    loop = BackgroundLoop(run(), name="test-loop", label="test loop")
    stop.set()
    with caplog.at_level(logging.WARNING, logger="tds_common.worker"):
        await loop.wait_stopped(30.0)
    assert finished == [True]
    assert not loop.task.cancelled()
    assert not caplog.records


async def test_a_loop_that_ignores_stop_is_cancelled(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        await asyncio.Event().wait()  # never returns

    loop = BackgroundLoop(run(), name="test-loop", label="test loop")
    with caplog.at_level(logging.WARNING, logger="tds_common.worker"):
        await loop.wait_stopped(0.01)
    assert loop.task.cancelled()
    assert "test loop did not stop in time; cancelling" in caplog.text


async def test_a_failed_loop_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        raise ValueError("broken")

    loop = BackgroundLoop(run(), name="test-loop", label="test loop")
    with caplog.at_level(logging.ERROR, logger="tds_common.worker"):
        await loop.wait_stopped(30.0)
    (record,) = caplog.records
    assert record.getMessage() == "test loop failed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
