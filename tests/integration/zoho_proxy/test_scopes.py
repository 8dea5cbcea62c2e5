"""Code 57 for a scope the refresh token lacks: our 403, remembered by every replica and
restart, and never a mint; a dead token still gets one mint (test_tokens_under_load.py)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from .harness import Replica, start_sim


async def _denials(db_pool: asyncpg.Pool, org: str) -> list[tuple[str, datetime]]:
    rows = await db_pool.fetch(
        "SELECT resource, checked_at FROM zoho_proxy_scope_verdicts "
        "WHERE org_id = $1 AND NOT allowed",
        org,
    )
    return [(row["resource"], row["checked_at"]) for row in rows]


async def test_a_missing_scope_is_a_403_that_never_mints(
    database_url: str, db_pool: asyncpg.Pool
) -> None:
    async with start_sim(oauth={"scope": "ZohoBooks.contacts.READ"}) as sim:
        # Every token counts as old enough to be dead: only the verdicts keep it from minting.
        settings = sim.proxy_settings(database_url, token_min_age_for_invalidation_seconds=0)
        async with Replica(settings) as replica:
            ok = await replica.client.get("/v1/customers", params={"per_page": 1})
            refused = [await replica.client.get("/zoho/books/invoices") for _ in range(5)]
            detail = await replica.client.get("/v1/invoices/1")
        learnt = await _denials(db_pool, sim.org)
        # A restarted replica (a crash loop, a rollout) learns nothing by minting either.
        for _ in range(3):
            async with Replica(settings) as restarted:
                again = await restarted.client.get("/zoho/books/invoices")
                still = await restarted.client.get("/v1/customers", params={"per_page": 1})
        counters = await sim.counters()

    assert ok.status_code == 200 and still.status_code == 200
    assert {r.status_code for r in [*refused, detail, again]} == {403}
    body = refused[0].json()
    assert body["error_code"] == "zoho_scope_missing"
    assert "ZOHO_REFRESH_TOKEN" in body["message"] and sim.refresh_token not in body["message"]
    assert counters["oauth"]["mints"] == 1
    # Zoho was asked once per replica: its later calls were answered from the verdict, and a
    # new replica's first 57 found the shared verdict instead of probing or minting. The one
    # probe (a contacts read with the same token) was the first replica's.
    assert counters["calls"]["GET /books/v3/invoices"] == {"401": 4}
    assert counters["calls"]["GET /books/v3/contacts"] == {"200": 1 + 3 + 1}
    # Replicas that adopted the verdict kept its age: the denial still lapses on time.
    assert [resource for resource, _ in learnt] == ["invoices"]
    assert await _denials(db_pool, sim.org) == learnt
