"""PostgreSQL going away: clear 503s (never an unbudgeted Zoho call), then recovery."""

from __future__ import annotations

import asyncio

from devstack import postgres as devpg

from .harness import Replica, start_sim


async def test_budget_database_outage_is_a_clear_503_and_recovers(
    private_postgres: devpg.PostgresConfig,
) -> None:
    async with start_sim() as sim:
        settings = sim.proxy_settings(private_postgres.url(), ready_failure_threshold=1)
        async with Replica(settings) as replica:
            assert (await replica.client.get("/v1/customers")).status_code == 200
            assert (await replica.client.get("/ready")).status_code == 200
            before = (await sim.counters())["calls"]
            await asyncio.to_thread(devpg.stop, private_postgres)
            try:
                down = await replica.client.get("/v1/customers")
                ready = await replica.client.get("/ready")
                during = (await sim.counters())["calls"]
            finally:
                await asyncio.to_thread(devpg.start, private_postgres)
            for _ in range(50):  # the pool reconnects on its own
                recovered = await replica.client.get("/v1/customers")
                if recovered.status_code == 200:
                    break
                await asyncio.sleep(0.2)

    assert down.status_code == 503
    assert down.json()["error_code"] == "upstream_unavailable"
    assert "PostgreSQL" in down.json()["message"]
    assert ready.status_code == 503
    assert during == before  # without the shared budget, nothing goes to Zoho
    assert recovered.status_code == 200
