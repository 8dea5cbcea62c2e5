"""Must show: token expiry under load, replicas restarting, one mint per expiry.

The simulator's access tokens live 3 s; the proxy refreshes 1 s before expiry, so a token is
used for about 2 s. Three replicas serve steady traffic while, one after another, they are
replaced by fresh instances (empty caches, as after a pod restart). The simulator counts every
token request.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from contextlib import AsyncExitStack

from .harness import Replica, Sim, start_sim

LIFETIME_SECONDS = 3
MARGIN_SECONDS = 1.0
RUN_SECONDS = 7.0


async def _ids(replica: Replica) -> list[str]:
    listing = await replica.client.get("/v1/customers", params={"per_page": 10})
    return [r["contact_id"] for r in listing.json()["records"]]


async def _mints(sim: Sim) -> tuple[int, int]:
    oauth = (await sim.counters())["oauth"]
    return oauth["mints"], oauth["access_denied"]


async def test_one_mint_per_expiry_while_replicas_restart(database_url: str) -> None:
    async with start_sim(
        oauth={"access_token_lifetime_seconds": LIFETIME_SECONDS}, limits={"per_minute": 10_000}
    ) as sim:
        settings = sim.proxy_settings(
            database_url, token_refresh_margin_seconds=MARGIN_SECONDS, per_minute_limit=10_000
        )
        replicas = [Replica(settings) for _ in range(3)]
        for replica in replicas:
            await replica.__aenter__()
        ids = itertools.cycle(await _ids(replicas[0]))
        statuses: list[int] = []
        restarts = 0
        started = time.monotonic()
        deadline = started + RUN_SECONDS

        def running() -> bool:
            """Until the deadline, and on a slow machine until each replica was replaced."""
            return time.monotonic() < deadline or restarts < len(replicas)

        async def caller(index: int) -> None:
            while running():
                response = await replicas[index % 3].client.get(f"/v1/customers/{next(ids)}")
                statuses.append(response.status_code)
                await asyncio.sleep(0.02)

        async def restarter() -> None:
            nonlocal restarts
            for index in itertools.cycle(range(3)):
                await asyncio.sleep(0.8)
                if time.monotonic() > deadline - 1 and restarts >= len(replicas):
                    return
                fresh = Replica(settings)
                await fresh.__aenter__()
                old, replicas[index] = replicas[index], fresh
                await old.__aexit__()  # drains calls already inside, then shuts down
                restarts += 1

        try:
            await asyncio.gather(restarter(), *(caller(i) for i in range(12)))
        finally:
            for replica in replicas:
                await replica.__aexit__()
        elapsed = time.monotonic() - started
        mints, denied = await _mints(sim)

    print(f"{len(statuses)} calls in {elapsed:.1f} s, {restarts} restarts, {mints} mints")
    assert statuses and set(statuses) == {200}, set(statuses)
    expiries = math.floor(elapsed / (LIFETIME_SECONDS - MARGIN_SECONDS))
    assert 1 <= mints <= 1 + expiries, (mints, elapsed)
    assert mints <= 10
    assert denied == 0


async def test_revoked_access_tokens_under_load_cost_one_mint(database_url: str) -> None:
    async with start_sim() as sim, AsyncExitStack() as stack:
        settings = sim.proxy_settings(database_url, token_min_age_for_invalidation_seconds=0)
        replicas = [await stack.enter_async_context(Replica(settings)) for _ in range(3)]
        ids = itertools.cycle(await _ids(replicas[0]))
        statuses: list[int] = []
        revoked = asyncio.Event()

        async def caller(index: int) -> None:
            for n in range(10):
                if n == 5 and index == 0:
                    await sim.post("/_sim/oauth/revoke", {"access_tokens": True})
                    revoked.set()
                response = await replicas[index % 3].client.get(f"/v1/customers/{next(ids)}")
                statuses.append(response.status_code)

        await asyncio.gather(*(caller(i) for i in range(6)))  # within 100 calls a minute
        calls = (await sim.counters())["calls"]
        mints, denied = await _mints(sim)

    assert revoked.is_set()
    assert len(statuses) == 60
    assert set(statuses) == {200}  # every 401 was retried once with the new token
    assert calls["GET /books/v3/contacts/{id}"].get("401", 0) >= 1
    assert mints == 2 and denied == 0
