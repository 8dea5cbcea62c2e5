"""The processor's retention: its loop, and a pass on demand never overlapping the loop's.

Against a stand-in pool: what matters here is when passes run, not their SQL (which
tests/integration/common/test_retention.py runs).
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from processor.retention import Retention
from tds_common.retention import RULES, RetentionSettings

PASS_CALLS = len(RULES) + 1
"""One batch per rule (none comes back full), then the fold of the queue's count deltas."""


class StandInPool:
    """Answers ``DELETE 0``; ``fail_first`` raises on the first call, ``gate`` holds the first
    call until it is set (``entered`` says the call is waiting), ``stop`` is set at call
    ``stop_at``."""

    def __init__(
        self,
        *,
        fail_first: BaseException | None = None,
        stop: asyncio.Event | None = None,
        stop_at: int = 0,
    ) -> None:
        self.calls: list[str] = []
        self.fail_first = fail_first
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.stop, self.stop_at = stop, stop_at

    async def execute(self, sql: str, *args: Any) -> str:
        self.calls.append(sql)
        if self.stop is not None and len(self.calls) == self.stop_at:
            self.stop.set()
        if len(self.calls) == 1:
            self.entered.set()
            if self.gate is not None:
                await self.gate.wait()
            if self.fail_first is not None:
                raise self.fail_first
        return "DELETE 0"


def _retention(pool: StandInPool, **settings: Any) -> Retention:
    return Retention(pool, RetentionSettings(**settings))  # type: ignore[arg-type]


async def test_the_loop_survives_a_failed_pass() -> None:
    stop = asyncio.Event()
    # The pool's own failure (a connection lost mid-pass), not only an error from the server.
    failure = asyncpg.InterfaceError("connection was closed")
    pool = StandInPool(fail_first=failure, stop=stop, stop_at=1 + PASS_CALLS)  # 2nd pass's end
    await asyncio.wait_for(_retention(pool, interval_seconds=0.001).run(stop), 30)
    assert len(pool.calls) == 1 + PASS_CALLS  # the failed first call, then a whole pass


async def test_a_pass_asked_for_waits_for_the_loops_pass_to_end() -> None:
    pool = StandInPool()
    pool.gate = asyncio.Event()
    retention = _retention(pool)
    stop = asyncio.Event()
    loop = asyncio.create_task(retention.run(stop))
    await pool.entered.wait()  # the loop's pass is inside its first batch
    asked = asyncio.create_task(retention.prune_now())
    for _ in range(10):  # give the asked-for pass every chance to start
        await asyncio.sleep(0)
    calls_while_held = len(pool.calls)
    stop.set()
    pool.gate.set()
    deleted = await asyncio.wait_for(asked, 30)
    await asyncio.wait_for(loop, 30)

    assert calls_while_held == 1
    assert len(pool.calls) == 2 * PASS_CALLS  # both passes whole, one after the other
    assert deleted["tds_sync_queue"] == 0
