"""The processor's retention of the control tables: the background loop and a pass on demand.

The pass itself (which rows, in which small batches) is :func:`tds_common.retention.prune`; this
module runs it with the processor's own ``PROCESSOR_RETENTION__*`` ages, every
``interval_seconds`` while ``enabled``, and when ``POST /api/zoho/retention/prune`` (``tds
prune``) asks. One pass at a time per process: a pass asked for while the loop's is running
waits for it, then runs (replicas' passes may overlap: their batches skip each other's rows).
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from tds_common.backoff import sleep_unless_stopping
from tds_common.db import CONNECTION_ERRORS
from tds_common.retention import RetentionSettings, prune

logger = logging.getLogger(__name__)


class Retention:
    """Prunes with one set of ages; the loop and the API share it (and its lock)."""

    def __init__(self, pool: asyncpg.Pool, settings: RetentionSettings) -> None:
        self.pool = pool
        self.settings = settings
        self._one_pass = asyncio.Lock()

    async def prune_now(self) -> dict[str, int]:
        """One pass; returns the rows deleted per table."""
        async with self._one_pass:
            return await prune(self.pool, self.settings)

    async def run(self, stop: asyncio.Event) -> None:
        """Prune every ``interval_seconds`` until ``stop`` is set; a failed pass waits its turn."""
        while not stop.is_set():
            try:
                await self.prune_now()
            except (asyncpg.PostgresError, *CONNECTION_ERRORS):
                logger.warning("retention pass failed; trying again next interval", exc_info=True)
            await sleep_unless_stopping(stop, self.settings.interval_seconds)
