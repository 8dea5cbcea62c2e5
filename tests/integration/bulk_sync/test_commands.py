"""The worker's side of tds.sync.requests: redeliveries and malformed commands."""

from __future__ import annotations

import asyncio

from bulk_sync.models import SyncCommand
from tds_common.kafka import create_producer
from tds_common.settings import TopicSettings

from .helpers import BulkSync


async def test_redelivered_and_malformed_commands_do_no_harm(
    bulk: BulkSync, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    run = (await bulk.sync(mode="full", entities=["warehouses"]))[0]
    assert run["status"] == "completed"
    worker = bulk.app.state.bulk_sync.worker
    assert worker is not None
    producer = create_producer(kafka_bootstrap)
    await producer.start()
    try:
        duplicate = SyncCommand(
            run_id=run["id"], org_id=bulk.org, entities=["warehouses"], mode="full"
        )
        await producer.send_and_wait(topics.sync_requests, b"{not json", key=b"x")
        await producer.send_and_wait(topics.sync_requests, duplicate.to_bytes(), key=b"x")
    finally:
        await producer.stop()
    for _ in range(300):
        if (run["id"], "skipped") in worker.outcomes:
            break
        await asyncio.sleep(0.05)
    assert (run["id"], "skipped") in worker.outcomes
    again = (await bulk.api.get(f"/api/zoho/sync/runs/{run['id']}")).json()
    assert again["completed_at"] == run["completed_at"] and again["api_calls"] == run["api_calls"]
    # The worker is alive and takes the next request.
    follow = await bulk.sync(mode="incremental", entities=["warehouses"])
    assert follow[0]["status"] == "completed"
    assert (await bulk.api.get("/ready")).status_code == 200
    health = (await bulk.api.get("/health")).json()
    assert health["status"] == "healthy" and health["checks"]["worker"] == "ok"
