"""The in-replica priority turnstile: webhook before incremental before bulk."""

from __future__ import annotations

import asyncio

import pytest

from zoho_proxy.budget_rules import Lane
from zoho_proxy.lanes import LaneQueue


async def test_waiters_are_served_by_lane_then_arrival() -> None:
    queue = LaneQueue()
    order: list[str] = []
    release_head = asyncio.Event()

    async def head() -> None:
        async with queue.turn("bulk", 5):
            await release_head.wait()

    async def caller(name: str, lane: Lane) -> None:
        async with queue.turn(lane, 5):
            order.append(name)

    head_task = asyncio.create_task(head())
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(caller(f"bulk{i}", "bulk")) for i in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(caller("incremental", "incremental")))
    tasks.append(asyncio.create_task(caller("webhook", "webhook")))
    await asyncio.sleep(0)
    assert queue.waiting["bulk"] == 3 and queue.waiting["webhook"] == 1
    release_head.set()
    await asyncio.gather(head_task, *tasks)
    assert order == ["webhook", "incremental", "bulk0", "bulk1", "bulk2"]
    assert sum(queue.waiting.values()) == 0


async def test_a_waiter_that_times_out_leaves_the_queue_working() -> None:
    queue = LaneQueue()
    hold = asyncio.Event()

    async def head() -> None:
        async with queue.turn("bulk", 5):
            await hold.wait()

    head_task = asyncio.create_task(head())
    await asyncio.sleep(0)
    with pytest.raises(TimeoutError):
        async with queue.turn("bulk", 0.01):
            pass
    served = asyncio.Event()

    async def later() -> None:
        async with queue.turn("webhook", 5):
            served.set()

    later_task = asyncio.create_task(later())
    hold.set()
    await asyncio.gather(head_task, later_task)
    assert served.is_set()
    # Free again: an uncontended turn is immediate.
    async with queue.turn("bulk", 0):
        pass
