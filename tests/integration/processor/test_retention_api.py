"""``POST /api/zoho/retention/prune`` prunes with the processor's own ages (``tds prune``)."""

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

pytestmark = pytest.mark.integration

AGE_DAYS = 3500.0
"""Every age far beyond what other tests of this shared database write."""


async def test_a_pass_on_demand_applies_the_services_ages_with_its_loop_off(
    database_url: str, db_pool: asyncpg.Pool, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    entity = f"retention-api-{uuid.uuid4().hex[:8]}"
    await finished_queue_row(db_pool, entity, age_days=4000)  # past the service's age
    kept = await finished_queue_row(db_pool, entity, age_days=3000)
    ages = {name: AGE_DAYS for name in RetentionSettings.model_fields if name.endswith("_days")}
    retention = RetentionSettings(enabled=False, **ages)
    settings = processor_settings(database_url, kafka_bootstrap, topics, retention=retention)

    async with running_processor(settings) as (_, api):
        response = await api.post("/api/zoho/retention/prune")
        refused = await api.post("/api/zoho/retention/prune", headers={"Authorization": ""})

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["deleted"]["tds_sync_queue"] >= 1
    assert report["days"] == ages
    remaining = await db_pool.fetch(
        "SELECT id FROM tds_sync_queue WHERE entity_type = $1 ORDER BY id", entity
    )
    assert [row["id"] for row in remaining] == [kept]
    assert refused.status_code == 401
