"""Exactly once through faults: Zoho applies writes whose answers never arrive (the simulator
fails them after applying, or holds the answer while the relay process is SIGKILLed). Every
outbox write ends applied, and the simulator applied each exactly once."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tds_common.settings import TopicSettings
from tests.utils.auth import API_AUTH, API_TOKEN, PROXY_WRITER_TOKEN
from tests.utils.polling import wait_until

from ...conftest import free_port
from .helpers import Zoho
from .test_resume import Worker
from .writeback import FAST_RELAY, outcomes, search, submit, write

LEASE_SECONDS = 2.0
"""Short, so the next relay re-checks the killed relay's write soon; above the proxy timeout."""


@pytest.fixture(name="spawn_relay")
def fixture_spawn_relay(
    tmp_path: Path,
    database_url: str,
    kafka_bootstrap: str,
    topics: TopicSettings,
    zoho: Zoho,
    org: str,
) -> Iterator[Any]:
    relays: list[Worker] = []

    def spawn() -> Worker:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BULK_SYNC_", "KAFKA_"))},
            **FAST_RELAY,
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPICS__SYNC_REQUESTS": topics.sync_requests,
            "ZOHO_PROXY_URL": zoho.proxy_url,
            "ZOHO_ORGANIZATION_ID": org,
            "LOG_JSON": "false",
            "BULK_SYNC_PORT": str(free_port()),
            "BULK_SYNC_WORKER_ENABLED": "false",
            "BULK_SYNC_PROXY__TOKEN": PROXY_WRITER_TOKEN,
            "BULK_SYNC_API_TOKENS": API_TOKEN,
            "BULK_SYNC_CONSUMER__GROUP_ID": f"test-writeback-{uuid.uuid4().hex[:8]}",
            "BULK_SYNC_PROXY__TIMEOUT_SECONDS": "1.5",
            "BULK_SYNC_WRITEBACK__LEASE_SECONDS": str(LEASE_SECONDS),
        }
        relay = Worker(env, tmp_path, tmp_path / f"relay-{len(relays)}.log")
        relays.append(relay)
        return relay

    yield spawn
    for relay in relays:
        if relay.process.poll() is None:
            relay.process.kill()
            relay.process.wait()


async def in_flight(pool: asyncpg.Pool, org: str) -> int:
    query = "SELECT count(*) FROM tds_outbox WHERE org_id = $1 AND status = 'in_flight'"
    return int(await pool.fetchval(query, org))


async def test_every_write_applies_exactly_once_through_lost_answers_and_a_killed_relay(
    spawn_relay: Any, zoho: Zoho, org: str, db_pool: asyncpg.Pool
) -> None:
    before: dict[str, int] = await zoho.sim("GET", "/_sim/writes")
    customers = [
        write("customers", "create", f"crash-cust-{n}", {"contact_name": f"Crash {n}"})
        for n in range(3)
    ]
    invoices = [
        write(
            "invoices",
            "create",
            f"crash-inv-{n}",
            {
                "customer_local_ref": f"crash-cust-{n}",
                "line_items": [{"name": "Work", "rate": 10 + n}],
            },
        )
        for n in range(3)
    ]
    update = write("customers", "update", "crash-cust-0", {"contact_name": "Crash 0 renamed"})

    await zoho.sim("PUT", "/_sim/write-faults", {"hold_after_apply": True})
    try:
        relay = spawn_relay()
        await relay.ready()
        async with httpx.AsyncClient(base_url=relay.url, headers=API_AUTH, timeout=30) as api:
            ids = await submit(api, *customers, *invoices, update)

        async def applied_but_unanswered() -> bool:
            applied: dict[str, int] = await zoho.sim("GET", "/_sim/writes")
            return applied != before and await in_flight(db_pool, org) == 1

        await wait_until(applied_but_unanswered, what="a write applied, its answer held")
        assert relay.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        # the answers still to come are lost: the next three writes fail after applying
        await zoho.sim(
            "PUT", "/_sim/write-faults", {"hold_after_apply": False, "fail_after_apply_next": 3}
        )
    assert await in_flight(db_pool, org) == 1, "the killed relay left its write in_flight"

    relay = spawn_relay()
    await relay.ready()
    async with httpx.AsyncClient(base_url=relay.url, headers=API_AUTH, timeout=30) as api:
        rows = await outcomes(api, ids)
    relay.stop(signal.SIGTERM)

    assert [row["status"] for row in rows] == ["applied"] * len(ids), rows
    after: dict[str, int] = await zoho.sim("GET", "/_sim/writes")
    delta = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
    assert delta == {"POST contacts": 3, "POST invoices": 3, "PUT contacts": 1}
    assert (await zoho.sim("GET", "/_sim/write-faults"))["fail_after_apply_next"] == 0
    for submitted, row in zip([*customers, *invoices], rows, strict=False):
        path = "contacts" if submitted["entity"] == "customers" else "invoices"
        field = "cf_tds_key" if path == "contacts" else "reference_number"
        found = await search(zoho.proxy_url, org, path, field, submitted["idempotency_key"])
        assert [str(r[f"{path[:-1]}_id"]) for r in found] == [row["zoho_id"]], "one record each"
    assert max(row["attempts"] for row in rows) >= 2
    invoice = await zoho.record(org, "invoices", rows[3]["zoho_id"])
    assert invoice["customer_id"] == rows[0]["zoho_id"]
    assert (await zoho.record(org, "customers", rows[0]["zoho_id"]))["contact_name"] == (
        "Crash 0 renamed"
    )
    mirrored = await db_pool.fetchval(
        "SELECT count(*) FROM zoho.invoices WHERE org_id = $1 AND invoice_id = ANY($2::text[])",
        org,
        [row["zoho_id"] for row in rows[3:6]],
    )
    assert mirrored == 3
