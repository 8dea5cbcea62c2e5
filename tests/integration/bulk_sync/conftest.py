"""bulk-sync against the real thing: zoho-sim, a real zoho-proxy, PostgreSQL and Kafka.

One simulator and one proxy (uvicorn in threads, free ports) per test module. The simulator
serves many organizations with the same seeded dataset shape; every test takes an organization
of its own, so its mirror rows, budgets and edits are its alone in the session's database.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any, Final

import asyncpg
import pytest
from asgi_lifespan import LifespanManager

from tds_common.settings import TopicSettings
from tests.utils.zoho import proxy_settings, sim_settings, unique_refresh_token
from zoho_proxy.app import create_app as create_proxy_app
from zoho_sim.settings import LimitSettings, OrgSettings
from zoho_sim.testing import run_in_thread, serve_app_in_thread

from .helpers import BulkSync, Zoho, bulk_sync_settings

SCALE: Final = 300
ORGS: Final = [str(70_000_000_000 + n) for n in range(1, 65)]
_next_org = itertools.count()


@pytest.fixture(scope="module", name="zoho")
def fixture_zoho(database_url: str) -> Iterator[Zoho]:
    with serve_zoho(database_url) as zoho:
        yield zoho


@contextmanager
def serve_zoho(database_url: str, **sim_changes: Any) -> Iterator[Zoho]:
    """A simulator plus a proxy in front of it, with budgets far above what tests spend;
    ``sim_changes`` replace simulator settings (e.g. ``stock_bumps_item_last_modified``)."""
    refresh_token = unique_refresh_token()
    sim = sim_settings(
        refresh_token,
        [OrgSettings(organization_id=org, daily_quota=10**7) for org in ORGS],
        scale=SCALE,
        limits=LimitSettings(per_minute=10**6),
    ).model_copy(update=sim_changes)
    with run_in_thread(sim) as sim_url:
        settings = proxy_settings(
            database_url,
            sim_url,
            zoho_refresh_token=refresh_token,
            zoho_organization_id=ORGS[0],
            per_minute_limit=10**6,
            daily_limit=10**7,
            request_timeout_seconds=30.0,  # the proxy's default: these tests inject latency
        )
        app = create_proxy_app(settings)
        calls: list[tuple[str, str]] = []
        with serve_app_in_thread(_recording(app, calls)) as proxy_url:
            yield Zoho(sim_url, proxy_url, calls)


def _recording(app: Any, calls: list[tuple[str, str]]) -> Any:
    """The proxy app, noting every request's path and query (to count pages fetched)."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            calls.append((scope["path"], scope.get("query_string", b"").decode()))
        await app(scope, receive, send)

    return asgi


@pytest.fixture(name="org")
def fixture_org() -> str:
    """An organization no other test of the session touches (mirror rows outlive a module)."""
    index = next(_next_org)
    assert index < len(ORGS), "more tests than organizations: extend ORGS"
    return ORGS[index]


MakeBulk = Callable[..., AbstractAsyncContextManager[BulkSync]]


@pytest.fixture(name="make_bulk")
def fixture_make_bulk(
    zoho: Zoho,
    org: str,
    database_url: str,
    kafka_bootstrap: str,
    topics: TopicSettings,
    db_pool: asyncpg.Pool,
) -> MakeBulk:
    """``async with make_bulk(per_page=50, proxy={...})``: bulk-sync (API + worker) in-process,
    on the test's own topics and consumer group; keyword arguments are sync settings."""
    from bulk_sync.app import create_app

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[BulkSync]:
        settings = bulk_sync_settings(
            database_url,
            kafka_bootstrap,
            topics,
            zoho.proxy_url,
            org,
            group_id=f"test-bulk-sync-{uuid.uuid4().hex[:8]}",
            **overrides,
        )
        app = create_app(settings)
        async with LifespanManager(app), BulkSync.connect(app, zoho, org, db_pool) as bulk:
            yield bulk

    return start


@pytest.fixture(name="bulk")
async def fixture_bulk(make_bulk: MakeBulk) -> AsyncIterator[BulkSync]:
    async with make_bulk() as bulk:
        yield bulk
