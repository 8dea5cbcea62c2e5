"""A service's background loop (its Kafka consumer) run next to the HTTP server.

The processor and bulk-sync start their consumer loops in the FastAPI lifespan and need the same
three things around them: the loop as a named task; a liveness check that fails once the loop
has ended, since it should only end when told to (Kubernetes then restarts the pod); and a
bounded stop: after the service signals the loop to stop, wait for the work in flight (a batch,
a page and its checkpoint) but no longer than the shutdown budget, then cancel it. What "signal
to stop" means stays with the service (an event the loop and its helpers watch).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class BackgroundLoop:
    """A started loop task; ``label`` names it in logs and in the liveness failure."""

    def __init__(self, loop: Coroutine[Any, Any, None], *, name: str, label: str) -> None:
        self.label = label
        self.task: asyncio.Task[None] = asyncio.create_task(loop, name=name)

    async def alive(self) -> None:
        """Liveness check: fails once the loop has ended."""
        if self.task.done():
            raise RuntimeError(f"the {self.label} stopped")

    async def wait_stopped(self, grace_seconds: float) -> None:
        """After the stop signal: wait up to ``grace_seconds`` for the loop, then cancel it.

        A loop that failed is logged, not raised: shutdown goes on closing what the loop used.
        """
        try:
            await asyncio.wait_for(self.task, grace_seconds)
        except TimeoutError:
            logger.warning("%s did not stop in time; cancelling", self.label)
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        except Exception:
            logger.exception("%s failed", self.label)
