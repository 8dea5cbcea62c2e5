"""Must show: lockout, revoked token, 5xx storms and slow responses each end in a clear state
(an HTTP status and error code callers can act on, /health, /api/zoho/budget) and a metric."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.utils.zoho import SIM_CLIENT_ID, SIM_CLIENT_SECRET

from .harness import Replica, Sim, start_sim


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _mint_directly(sim: Sim) -> httpx.Response:
    return await sim.control.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": SIM_CLIENT_ID,
            "client_secret": SIM_CLIENT_SECRET,
            "refresh_token": sim.refresh_token,
        },
    )


@pytest.mark.parametrize("lockout_status", [400, 200])
async def test_lockout_backs_off_across_replicas_and_shows_in_health(
    database_url: str, lockout_status: int
) -> None:
    oauth = {"mint_limit": 2, "lockout_http_status": lockout_status}
    async with start_sim(oauth=oauth) as sim, AsyncExitStack() as stack:
        for _ in range(2):  # someone else (an old deployment) burnt the mint limit
            assert (await _mint_directly(sim)).status_code == 200
        before = sample("tds_zoho_proxy_token_refreshes_total", outcome="locked_out")
        settings = sim.proxy_settings(database_url)
        replicas = [await stack.enter_async_context(Replica(settings)) for _ in range(2)]
        answers = [await replicas[i % 2].client.get("/v1/customers") for i in range(6)]
        health = (await replicas[1].client.get("/health")).json()
        ready = await replicas[1].client.get("/ready")
        budget = (await replicas[0].client.get("/api/zoho/budget")).json()
        counters = (await sim.counters())["oauth"]

    assert {a.status_code for a in answers} == {503}
    assert {a.json()["error_code"] for a in answers} == {"zoho_token_unavailable"}
    assert 1700 <= int(answers[-1].headers["retry-after"]) <= 1800
    assert counters["access_denied"] == 1  # one try for all replicas, then silence
    assert health["status"] == "degraded"
    assert health["checks"]["zoho_token"].startswith("locked_out")
    assert ready.status_code == 200  # callers still get the clear 503 from us
    assert budget["token"]["state"] == "locked_out"
    assert sample("tds_zoho_proxy_token_refreshes_total", outcome="locked_out") == before + 1
    assert sample("tds_zoho_proxy_token_state", state="locked_out") == 1


async def test_revoked_refresh_token_is_reported_not_retried(database_url: str) -> None:
    async with start_sim() as sim:
        await sim.post("/_sim/oauth/revoke", {"refresh_token": sim.refresh_token})
        before = sample("tds_zoho_proxy_token_refreshes_total", outcome="revoked")
        async with Replica(sim.proxy_settings(database_url)) as replica:
            answers = [await replica.client.get("/v1/invoices/1") for _ in range(3)]
            health = (await replica.client.get("/health")).json()
        token_calls = (await sim.counters())["calls"]["POST /oauth/v2/token"]

    assert {a.status_code for a in answers} == {503}
    assert answers[0].json()["error_code"] == "zoho_token_revoked"
    assert "ZOHO_REFRESH_TOKEN" in answers[0].json()["message"]
    assert sim.refresh_token not in answers[0].text
    assert token_calls == {"200": 1}  # Zoho's invalid_code comes as HTTP 200, asked once
    assert health["checks"]["zoho_token"] == "revoked: invalid_code"
    assert sample("tds_zoho_proxy_token_refreshes_total", outcome="revoked") == before + 1


async def test_5xx_storm_is_retried_then_reported_then_recovers(database_url: str) -> None:
    async with start_sim() as sim:
        async with Replica(sim.proxy_settings(database_url)) as replica:
            ids = (await replica.client.get("/v1/customers", params={"per_page": 1})).json()
            contact_id = ids["records"][0]["contact_id"]
            failures = sample("tds_zoho_proxy_upstream_failures_total", api="books", kind="5xx")
            retries = sample("tds_zoho_proxy_upstream_retries_total", api="books", reason="5xx")
            await sim.put("/_sim/faults", {"error_rate": 1.0, "error_status": 503})
            storm = await replica.client.get(f"/v1/customers/{contact_id}")
            await sim.control.delete("/_sim/faults")
            recovered = await replica.client.get(f"/v1/customers/{contact_id}")
            budget = (await replica.client.get("/api/zoho/budget")).json()
        calls = (await sim.counters())["calls"]

    assert storm.status_code == 502 and storm.json()["error_code"] == "zoho_server_error"
    # Retried 3 times (the simulator has no write endpoints; POSTs never being retried is
    # covered by the unit tests).
    assert calls["GET /books/v3/contacts/{id}"] == {"503": 4, "200": 1}
    assert recovered.status_code == 200
    assert sample("tds_zoho_proxy_upstream_failures_total", api="books", kind="5xx") == (
        failures + 1
    )
    assert sample("tds_zoho_proxy_upstream_retries_total", api="books", reason="5xx") == (
        retries + 3
    )
    (books,) = [
        b for b in budget["budgets"] if b["product"] == "books" and b["organization_id"] == sim.org
    ]
    assert books["in_flight"]["used"] == 0


async def test_slow_responses_time_out_and_keep_their_slots(database_url: str) -> None:
    async with start_sim() as sim:
        settings = sim.proxy_settings(
            database_url, request_timeout_seconds=0.3, retry_attempts=2, max_in_flight=5
        )
        async with Replica(settings) as replica:
            before = sample("tds_zoho_proxy_upstream_failures_total", api="books", kind="timeout")
            await sim.put("/_sim/faults", {"latency_seconds": 2.0})
            slow = await replica.client.get("/v1/invoices", headers={"X-TDS-Lane": "bulk"})
            budget = (await replica.client.get("/api/zoho/budget")).json()
            await sim.control.delete("/_sim/faults")

    assert slow.status_code == 503
    assert slow.json()["error_code"] == "zoho_unavailable"
    assert "did not answer" in slow.json()["message"]
    assert sample("tds_zoho_proxy_upstream_failures_total", api="books", kind="timeout") == (
        before + 1
    )
    # Zoho may still be working on both attempts: their slots stay taken until leases expire.
    (books,) = [
        b for b in budget["budgets"] if b["product"] == "books" and b["organization_id"] == sim.org
    ]
    assert books["in_flight"]["used"] == 2
