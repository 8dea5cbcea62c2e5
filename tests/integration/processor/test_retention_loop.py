"""The processor prunes the control tables while it runs (``PROCESSOR_RETENTION__*``)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tds_common.retention import RetentionSettings
from tds_common.settings import TopicSettings
from tests.integration.processor.helpers import (
    finished_queue_row,
    processor_settings,
    running_processor,
)
from tests.utils.polling import wait_until

pytestmark = pytest.mark.integration


async def test_the_processor_prunes_old_rows_in_the_background(
    database_url: str, db_pool: asyncpg.Pool, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    # Ages far beyond anything other tests of this shared database write.
    entity = f"retention-{uuid.uuid4().hex[:8]}"
    old = await finished_queue_row(db_pool, entity, age_days=4000)
    kept = await finished_queue_row(db_pool, entity, age_days=3000)
    retention = RetentionSettings(queue_days=3500, interval_seconds=0.2)
    settings = processor_settings(database_url, kafka_bootstrap, topics, retention=retention)

    async def gone() -> bool:
        return await db_pool.fetchval("SELECT id FROM tds_sync_queue WHERE id = $1", old) is None

    async with running_processor(settings):
        await wait_until(gone, what="the processor's retention loop to delete the old row")
    assert await db_pool.fetchval("SELECT id FROM tds_sync_queue WHERE id = $1", kept) == kept
