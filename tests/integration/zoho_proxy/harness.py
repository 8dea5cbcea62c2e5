"""Running the simulator and proxy replicas inside a test.

``simulator(...)`` starts a zoho-sim of the test's own (unique organization and refresh token,
so the token row and budget rows in the shared session database are the test's alone) on a
free port. ``Replica`` runs one proxy app with its lifespan: several of them against one
database are the "replicas" of a deployment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from tests.utils.zoho import (
    PROXY_AUTH,
    proxy_settings,
    sim_settings,
    unique_org,
    unique_refresh_token,
)
from zoho_proxy.app import create_app
from zoho_proxy.settings import Settings
from zoho_sim.settings import LimitSettings, OrgSettings
from zoho_sim.testing import run_in_thread

DRAIN_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Sim:
    url: str
    org: str
    refresh_token: str
    control: httpx.AsyncClient

    def proxy_settings(self, database_url: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "zoho_refresh_token": self.refresh_token,
            "zoho_organization_id": self.org,
        }
        values.update(overrides)
        return proxy_settings(database_url, self.url, **values)

    async def counters(self) -> dict[str, Any]:
        response = await self.control.get("/_sim/counters")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def budget(self, product: str = "books") -> dict[str, Any]:
        budgets: dict[str, Any] = (await self.counters())["budgets"].get(self.org, {})
        budget: dict[str, Any] = budgets.get(product, {})
        return budget

    async def put(self, path: str, body: dict[str, Any]) -> None:
        response = await self.control.put(path, json=body)
        response.raise_for_status()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.control.post(path, json=body)
        response.raise_for_status()
        return response.json()


@contextmanager
def simulator(
    *, limits: dict[str, Any] | None = None, oauth: dict[str, Any] | None = None
) -> Iterator[tuple[str, str, str]]:
    org = unique_org()
    refresh_token = unique_refresh_token()
    settings = sim_settings(
        refresh_token,
        [OrgSettings(organization_id=org)],
        scale=20,
        limits=LimitSettings(**(limits or {})),
        oauth=oauth,
    )
    with run_in_thread(settings) as url:
        yield url, org, refresh_token


@asynccontextmanager
async def start_sim(
    *, limits: dict[str, Any] | None = None, oauth: dict[str, Any] | None = None
) -> AsyncIterator[Sim]:
    """A simulator of the test's own, with a control client."""
    with simulator(limits=limits, oauth=oauth) as (url, org, refresh_token):
        async with httpx.AsyncClient(base_url=url, timeout=30) as control:
            yield Sim(url, org, refresh_token, control)


class _Draining(httpx.AsyncBaseTransport):
    """Counts requests in progress, so a replica can stop like uvicorn does: drain, then close."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.active = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.active += 1
        self.idle.clear()
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.active -= 1
            if self.active == 0:
                self.idle.set()


class Replica:
    """One proxy app with its lifespan running; ``client`` talks to it in-process.

    Stopping drains requests in progress before the lifespan shuts down, as uvicorn does on
    SIGTERM in a pod.
    """

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self._lifespan = LifespanManager(self.app)
        self._transport = _Draining(httpx.ASGITransport(app=self.app))
        self.client = httpx.AsyncClient(
            transport=self._transport, base_url="http://proxy", headers=PROXY_AUTH, timeout=60
        )

    async def __aenter__(self) -> Replica:
        await self._lifespan.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.sleep(0.1)  # calls that picked this replica just before reach the transport
        await asyncio.wait_for(self._transport.idle.wait(), DRAIN_TIMEOUT_SECONDS)
        await self.client.aclose()
        await self._lifespan.__aexit__(None, None, None)
