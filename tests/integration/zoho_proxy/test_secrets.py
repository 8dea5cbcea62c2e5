"""Secrets never reach logs, metrics, error bodies or the database in clear text."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from tests.utils.zoho import SIM_CLIENT_SECRET

from .harness import Replica, start_sim


async def test_no_secret_in_logs_metrics_errors_or_rows(
    database_url: str, db_pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with start_sim() as sim:
        settings = sim.proxy_settings(database_url, token_min_age_for_invalidation_seconds=0)
        async with Replica(settings) as replica:
            ok = await replica.client.get("/v1/customers", params={"per_page": 1})
            access_token = await replica.app.state.proxy.tokens.get()
            await sim.post("/_sim/oauth/revoke", {"access_tokens": True})  # 401, then re-mint
            again = await replica.client.get("/zoho/books/contacts", params={"per_page": 1})
            await sim.put("/_sim/faults", {"error_rate": 1.0})
            failed = await replica.client.get("/v1/customers", params={"per_page": 1})
            metrics = (await replica.client.get("/metrics")).text
            budget = (await replica.client.get("/api/zoho/budget")).text
        rows = await db_pool.fetch("SELECT * FROM zoho_proxy_tokens")

    assert ok.status_code == 200 and again.status_code == 200 and failed.status_code == 502
    secrets = [
        sim.refresh_token,
        SIM_CLIENT_SECRET,
        access_token,
        settings.token_encryption_key.get_secret_value(),
    ]
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "minted a Zoho access token" in logged  # the log is there, without the token
    for text in (logged, metrics, budget, failed.text, str(rows)):
        for secret in secrets:
            assert secret not in text
