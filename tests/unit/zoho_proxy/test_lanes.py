"""The in-replica priority turnstile: webhook, then write, then incremental, then bulk."""

from __future__ import annotations

import asyncio

import pytest

from zoho_proxy.budget_rules import Lane, lane_priority
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


async def _served_order(queue: LaneQueue, lanes: list[Lane]) -> list[str]:
    """The order in which callers of ``lanes`` (arriving in that order) get their turn."""
    order: list[str] = []
    release_head = asyncio.Event()

    async def head() -> None:
        async with queue.turn("bulk", 5):
            await release_head.wait()

    async def caller(lane: Lane) -> None:
        async with queue.turn(lane, 5):
            order.append(lane)

    head_task = asyncio.create_task(head())
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(caller(lane)) for lane in lanes]
    await asyncio.sleep(0)
    release_head.set()
    await asyncio.gather(head_task, *tasks)
    return order


async def test_the_write_lane_goes_after_webhooks_and_before_syncs_by_default() -> None:
    arrivals: list[Lane] = ["bulk", "incremental", "write", "webhook"]
    assert await _served_order(LaneQueue(), arrivals) == [
        "webhook",
        "write",
        "incremental",
        "bulk",
    ]


async def test_the_lane_order_is_configurable() -> None:
    queue = LaneQueue(lane_priority(["webhook", "incremental", "write", "bulk"]))
    arrivals: list[Lane] = ["bulk", "write", "incremental", "webhook"]
    assert await _served_order(queue, arrivals) == ["webhook", "incremental", "write", "bulk"]
    assert queue.has_waiter_above("write") is False
