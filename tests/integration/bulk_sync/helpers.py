"""Drivers for the bulk-sync integration tests: the API, the simulator, the mirror."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import asyncpg
import httpx

from bulk_sync.settings import Settings
from tds_common.catalogue import get_entity
from tds_common.events import parse_zoho_timestamp
from tds_common.settings import TopicSettings
from tests.utils.auth import API_AUTH, API_TOKEN
from tests.utils.zoho import PROXY_AUTH, PROXY_WRITER_TOKEN

RUN_WAIT_SECONDS: Final = 180.0
"""A safety bound for a hung run, not a speed assertion."""
TERMINAL: Final = frozenset({"completed", "failed", "cancelled", "needs_confirmation"})
"""Statuses a run stays in without a new request (a held sweep waits for a person)."""


def bulk_sync_settings(
    database_url: str,
    kafka_bootstrap: str,
    topics: TopicSettings,
    proxy_url: str,
    org: str,
    *,
    group_id: str,
    proxy: dict[str, Any] | None = None,
    **sync: Any,
) -> Settings:
    return Settings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topics=topics,
        zoho_proxy_url=proxy_url,
        zoho_organization_id=org,
        api_tokens=[API_TOKEN],
        consumer={"group_id": group_id, "poll_timeout_ms": 100, "session_timeout_ms": 6000},
        proxy={
            "retry_initial_seconds": 0.05,
            "retry_max_seconds": 0.5,
            "token": PROXY_WRITER_TOKEN,
            **(proxy or {}),
        },
        # No verification unless a test asks: it adds list calls to incremental runs.
        sync={"max_detail_calls_per_run": None, "verify_max_calls": 0, **sync},
    )


@dataclass
class Zoho:
    """The simulator (control API) and the proxy in front of it."""

    sim_url: str
    proxy_url: str
    proxy_calls: list[tuple[str, str]] = field(default_factory=list)

    async def index(self, org: str, entity: str) -> dict[str, datetime | None]:
        """Every record id of an entity with its last_modified_time, by plain paging."""
        found: dict[str, datetime | None] = {}
        spec = get_entity(entity)
        id_field = spec.id_field
        listing = {"filter_by": spec.list_filter} if spec.list_filter else {}
        async with httpx.AsyncClient(
            base_url=self.proxy_url, headers=PROXY_AUTH, timeout=60
        ) as client:
            page = 1
            while True:
                response = await client.get(
                    f"/v1/{entity}",
                    params={"page": page, "per_page": 200, **listing},
                    headers={"X-TDS-Org": org},
                )
                response.raise_for_status()
                body = response.json()
                for record in body["records"]:
                    stamp = record.get("last_modified_time")
                    found[str(record[id_field])] = parse_zoho_timestamp(stamp) if stamp else None
                if not (body["page_context"] or {}).get("has_more_page"):  # warehouses: none
                    return found
                page += 1

    async def item_details(self, org: str, item_ids: list[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        async with httpx.AsyncClient(
            base_url=self.proxy_url, headers=PROXY_AUTH, timeout=60
        ) as client:
            for start in range(0, len(item_ids), 100):
                response = await client.get(
                    "/zoho/inventory/itemdetails",
                    params={"item_ids": ",".join(item_ids[start : start + 100])},
                    headers={"X-TDS-Org": org},
                )
                response.raise_for_status()
                items.extend(response.json()["items"])
        return items

    async def sim(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.sim_url, timeout=60) as client:
            response = await client.request(method, path, json=body)
            response.raise_for_status()
            return response.json()

    async def edit(self, org: str, entity: str, zoho_id: str, fields: dict[str, Any]) -> Any:
        return (await self.sim("PATCH", f"/_sim/orgs/{org}/{entity}/{zoho_id}", fields))["record"]

    async def delete(self, org: str, entity: str, zoho_id: str) -> None:
        await self.sim("DELETE", f"/_sim/orgs/{org}/{entity}/{zoho_id}")

    async def record(self, org: str, entity: str, zoho_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.sim("GET", f"/_sim/orgs/{org}/{entity}/{zoho_id}")
        return result


@dataclass
class BulkSync:
    api: httpx.AsyncClient
    zoho: Zoho
    org: str
    pool: asyncpg.Pool
    app: Any

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, app: Any, zoho: Zoho, org: str, pool: asyncpg.Pool
    ) -> AsyncIterator[BulkSync]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bulk-sync", headers=API_AUTH
        ) as api:
            yield cls(api, zoho, org, pool, app)

    async def request(self, **body: Any) -> list[dict[str, Any]]:
        body.setdefault("org_id", self.org)
        response = await self.api.post("/api/zoho/bulk-sync", json=body)
        assert response.status_code == 202, response.text
        runs: list[dict[str, Any]] = response.json()["runs"]
        return runs

    async def sync(self, **body: Any) -> list[dict[str, Any]]:
        """Request a sync and wait until every run ended; returns the final runs."""
        runs = await self.request(**body)
        return await wait_runs(self.api, [run["id"] for run in runs])

    async def rows(self, table: str, id_column: str) -> dict[str, asyncpg.Record]:
        records = await self.pool.fetch(f"SELECT * FROM zoho.{table} WHERE org_id = $1", self.org)
        return {r[id_column]: r for r in records}


async def wait_runs(api: httpx.AsyncClient, run_ids: list[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + RUN_WAIT_SECONDS
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(run_ids):
        assert time.monotonic() < deadline, f"runs still not ended: {set(run_ids) - set(done)}"
        for run_id in run_ids:
            if run_id in done:
                continue
            response = await api.get(f"/api/zoho/sync/runs/{run_id}")
            response.raise_for_status()
            run = response.json()
            if run["status"] in TERMINAL:
                done[run_id] = run
        await asyncio.sleep(0.1)
    return [done[run_id] for run_id in run_ids]
