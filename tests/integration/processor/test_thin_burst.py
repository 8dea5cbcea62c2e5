"""Must show (issue 11): thin webhooks against Zoho's budget converge, about one read each.

The whole read path is real: the processor reads through a real zoho-proxy (uvicorn in a
thread) from the simulator, whose per-minute limit (100) is kept but whose minute is shortened
to a few seconds so the burst spends several windows in well under a minute.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

from processor.app import create_app as create_processor_app
from processor.settings import Settings
from tds_common.events import EventEnvelope
from tds_common.settings import TopicSettings
from tests.integration.processor.helpers import fully_committed, processor_settings, publish
from tests.utils.polling import wait_until
from tests.utils.zoho import (
    PROXY_AUTH,
    proxy_settings,
    sim_settings,
    unique_org,
    unique_refresh_token,
)
from zoho_proxy.app import create_app as create_proxy_app
from zoho_sim.settings import LimitSettings, OrgSettings
from zoho_sim.testing import run_in_thread, serve_app_in_thread

PER_WINDOW: Final = 100
WINDOW_SECONDS: Final = 3.0
ITEMS: Final = 300
READ_PATH: Final = "GET /inventory/v1/items/{id}"


@contextmanager
def _zoho(database_url: str, org: str) -> Iterator[tuple[str, str]]:
    """A simulator with 100 calls per (shortened) minute and a proxy that keeps to it."""
    refresh_token = unique_refresh_token()
    sim = sim_settings(
        refresh_token,
        [OrgSettings(organization_id=org)],
        scale=ITEMS,
        limits=LimitSettings(per_minute=PER_WINDOW, minute_window_seconds=WINDOW_SECONDS),
    )
    with run_in_thread(sim) as sim_url:
        settings = proxy_settings(
            database_url,
            sim_url,
            zoho_refresh_token=refresh_token,
            zoho_organization_id=org,
            per_minute_limit=PER_WINDOW,
            window_seconds=WINDOW_SECONDS,
        )
        with serve_app_in_thread(create_proxy_app(settings)) as proxy_url:
            yield sim_url, proxy_url


@asynccontextmanager
async def _processor(settings: Settings) -> AsyncIterator[None]:
    async with LifespanManager(
        create_processor_app(settings), startup_timeout=30, shutdown_timeout=30
    ):
        yield


async def _stock_items(proxy_url: str, org: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=proxy_url, headers=PROXY_AUTH, timeout=60) as client:
        page = 1
        while True:
            params = {"page": page, "per_page": 200}
            response = await client.get("/v1/stock", params=params, headers={"X-TDS-Org": org})
            body = response.json()
            items += body["records"]
            if not body["page_context"].get("has_more_page"):
                return items
            page += 1


async def _reads(sim_url: str) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=sim_url) as client:
        counters = (await client.get("/_sim/counters")).json()
    reads: dict[str, int] = counters["calls"].get(READ_PATH, {})
    return reads


def _thin(org: str, item: dict[str, Any]) -> EventEnvelope:
    """What ingest publishes for Zoho's stock webhook: the item and its version, no warehouses."""
    from tds_common.events import parse_zoho_timestamp

    return EventEnvelope(
        org_id=org,
        entity="stock",
        zoho_id=item["item_id"],
        source="webhook",
        last_modified_time=parse_zoho_timestamp(item["last_modified_time"]),
        payload={"item_id": item["item_id"], "last_modified_time": item["last_modified_time"]},
    )


async def _handled(pool: asyncpg.Pool, org: str) -> dict[str, int]:
    """Distinct items per inbox status (items without warehouses have no stock rows)."""
    rows = await pool.fetch(
        "SELECT status, count(DISTINCT entity_id) AS n FROM tds_inbox_events WHERE org_id = $1 "
        "GROUP BY status",
        org,
    )
    return {r["status"]: r["n"] for r in rows}


async def test_a_burst_of_thin_webhooks_converges_with_about_one_read_per_record(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = unique_org()
    with _zoho(database_url, org) as (sim_url, proxy_url):
        items = (await _stock_items(proxy_url, org))[:ITEMS]
        settings = processor_settings(
            database_url, kafka_bootstrap, topics, zoho_proxy_url=proxy_url
        )
        group = settings.consumer.group_id
        # 1,000 copies of one thin webhook (Zoho retrying a delivery, a replayed backlog).
        copy = _thin(org, items[0])
        copies = [copy.model_copy(update={"event_id": str(uuid.uuid4())}) for _ in range(1000)]
        # Then a burst of 600: every item's webhook twice, shuffled.
        burst = [_thin(org, item) for item in items for _ in range(2)]
        random.Random(11).shuffle(burst)
        async with _processor(settings):
            await publish(kafka_bootstrap, topics.events, copies)
            await wait_until(
                lambda: fully_committed(kafka_bootstrap, topics.events, group),
                what="the copies handled",
                limit_seconds=60,
            )
            reads_for_copies = await _reads(sim_url)
            await publish(kafka_bootstrap, topics.events, burst)
            await wait_until(
                lambda: fully_committed(kafka_bootstrap, topics.events, group),
                what="the burst handled",
                limit_seconds=120,
            )
        reads = await _reads(sim_url)

    assert reads_for_copies == {"200": 1}  # 1,000 copies cost one call
    assert len(burst) == 600 and len(items) == ITEMS
    assert await _handled(db_pool, org) == {"completed": ITEMS}  # converged: every item read
    print(f"burst: {len(burst)} thin webhooks, {ITEMS} items, Zoho reads {reads}")
    assert reads.get("429", 0) == 0  # Zoho never said no: the budget was kept
    # About one read per distinct record (the copied item's burst webhooks were known already).
    assert ITEMS <= reads["200"] <= ITEMS * 1.05
