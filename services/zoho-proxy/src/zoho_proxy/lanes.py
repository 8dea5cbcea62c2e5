"""Priority lanes inside one replica: who asks the shared budget next.

Per organization and product, one caller at a time (the head) negotiates with PostgreSQL and
sleeps while the budget is spent; everybody else waits here, ordered by lane (webhook, then
write, then incremental, then bulk, or as ``ZOHO_PROXY_LANE_ORDER`` says) and arrival. So a
webhook follow-up read that arrives behind a queue of bulk calls is next in line as soon as the
head is served, and the database sees one poller per replica instead of one per caller.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from zoho_proxy.budget_rules import LANE_PRIORITY, Lane

logger = logging.getLogger(__name__)


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    lane: Lane = field(compare=False)
    future: asyncio.Future[None] = field(compare=False)


class LaneQueue:
    """A priority turnstile: ``async with queue.turn(lane, timeout)`` runs one holder at a time."""

    def __init__(self, priority: Mapping[str, int] = LANE_PRIORITY) -> None:
        self._priority = priority
        self._heap: list[_Waiter] = []
        self._busy = False
        self._seq = itertools.count()
        self.waiting: Counter[str] = Counter()

    @asynccontextmanager
    async def turn(self, lane: Lane, max_wait_seconds: float) -> AsyncIterator[None]:
        """Wait for the turn (``TimeoutError`` after ``max_wait_seconds``), hold it, pass it on."""
        if self._busy or self._heap:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            waiter = _Waiter(self._priority[lane], next(self._seq), lane, future)
            heapq.heappush(self._heap, waiter)
            self.waiting[lane] += 1
            try:
                await asyncio.wait_for(asyncio.shield(future), max_wait_seconds)
            except BaseException:
                if future.done() and not future.cancelled():
                    # Handed the turn in the same instant we gave up: pass it on.
                    self._pass_on()
                else:
                    future.cancel()
                raise
            finally:
                self.waiting[lane] -= 1
        else:
            self._busy = True
        try:
            yield
        finally:
            self._pass_on()

    def has_waiter_above(self, lane: Lane) -> bool:
        """Whether a caller of a higher lane waits here (the holder should step aside)."""
        rank = self._priority[lane]
        return any(n > 0 and self._priority[other] < rank for other, n in self.waiting.items())

    def _pass_on(self) -> None:
        while self._heap:
            waiter = heapq.heappop(self._heap)
            if not waiter.future.done():
                waiter.future.set_result(None)
                return
        self._busy = False
