"""Graceful stop: requests in flight when shutdown begins still finish, durable, with 202."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from ingest.app import create_app
from tds_common.events import EventEnvelope
from tds_common.settings import TopicSettings
from tests.integration.ingest.conftest import (
    STAMP,
    TOKEN,
    accepts_connections,
    live_server,
    make_settings,
    read_topic,
)
from tests.utils.polling import wait_until

pytestmark = pytest.mark.integration

IN_FLIGHT = 5


async def test_in_flight_requests_finish_and_are_published_during_shutdown(
    kafka_bootstrap: str, topics: TopicSettings
) -> None:
    release = asyncio.Event()

    async def slow_body(zoho_id: str) -> AsyncIterator[bytes]:
        yield f'{{"item": {{"item_id": "{zoho_id}", '.encode()
        await release.wait()  # the rest arrives only after shutdown has begun
        yield f'"last_modified_time": "{STAMP}"}}}}'.encode()

    app = create_app(make_settings(kafka_bootstrap, topics))
    with live_server(app) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            posts = [
                asyncio.create_task(
                    client.post(
                        "/api/zoho/webhooks/products",
                        content=slow_body(str(1000 + n)),
                        headers={"X-TDS-Webhook-Token": TOKEN, "Content-Type": "application/json"},
                    )
                )
                for n in range(IN_FLIGHT)
            ]
            await wait_until(
                lambda: len(live.server.server_state.tasks) >= IN_FLIGHT, what="requests in flight"
            )
            live.server.should_exit = True
            # Shutdown has begun once the listener is closed; only then does the rest arrive.
            await wait_until(lambda: not accepts_connections(live.url), what="a closed listener")
            release.set()
            responses = await asyncio.gather(*posts)

    assert [r.status_code for r in responses] == [202] * IN_FLIGHT
    records = await read_topic(kafka_bootstrap, topics.events)
    assert sorted(EventEnvelope.from_bytes(r.value).event_id for r in records) == sorted(
        r.json()["event_id"] for r in responses
    )
