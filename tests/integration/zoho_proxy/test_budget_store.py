"""The shared budget on a real PostgreSQL: replicas never over-grant; leases expire."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import asyncpg
import pytest

from tests.utils.zoho import proxy_settings, unique_org
from zoho_proxy.budget import Budget, Lease
from zoho_proxy.budget_rules import Lane
from zoho_proxy.db import create_proxy_pool
from zoho_proxy.errors import BudgetExhaustedError


async def _replicas(database_url: str, count: int, **overrides: object) -> list[Budget]:
    settings = proxy_settings(database_url, **overrides)  # type: ignore[arg-type]
    pools = [await create_proxy_pool(database_url, max_size=4) for _ in range(count)]
    return [Budget(pool, settings) for pool in pools]


async def _close(budgets: list[Budget]) -> None:
    for budget in budgets:
        await budget._pool.close()


def _max_in_window(times: list[datetime], window: timedelta) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_three_replicas_never_exceed_window_or_in_flight(database_url: str) -> None:
    budgets = await _replicas(
        database_url,
        3,
        per_minute_limit=20,
        window_seconds=0.5,
        window_margin_seconds=0.0,
        max_in_flight=4,
        daily_limit=10_000,
        daily_reserve=0,
    )
    org = unique_org()
    grants: list[datetime] = []
    in_flight = 0
    peak = 0

    async def caller(budget: Budget) -> None:
        nonlocal in_flight, peak
        for _ in range(6):
            lease = await budget.acquire(org, "books", "bulk")
            grants.append(await budget._pool.fetchval("SELECT clock_timestamp()"))
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            await budget.release(lease)

    try:
        await asyncio.gather(*(caller(budgets[i % 3]) for i in range(12)))
    finally:
        await _close(budgets)
    assert len(grants) == 72
    assert peak <= 4
    # Grants are stamped just after the decision, so allow the small skew.
    assert _max_in_window(grants, timedelta(seconds=0.45)) <= 20


async def test_bulk_is_refused_at_the_daily_reserve_but_webhooks_go_on(
    database_url: str,
) -> None:
    (budget,) = await _replicas(
        database_url, 1, daily_limit=5, daily_reserve=2, per_minute_limit=100
    )
    org = unique_org()
    try:
        for _ in range(3):
            await budget.release(await budget.acquire(org, "inventory", "bulk"))
        with pytest.raises(BudgetExhaustedError, match="reserve") as caught:
            await budget.acquire(org, "inventory", "bulk")
        assert caught.value.retry_after_seconds is not None
        assert caught.value.retry_after_seconds > 3600  # until the daily reset
        await budget.release(await budget.acquire(org, "inventory", "webhook"))
        await budget.release(await budget.acquire(org, "inventory", "incremental"))
        with pytest.raises(BudgetExhaustedError, match="daily"):
            await budget.acquire(org, "inventory", "webhook")
        (snapshot,) = [b for b in await budget.snapshot() if b["organization_id"] == org]
        assert snapshot["day"]["left"] == 0 and snapshot["day"]["used"] == 5
    finally:
        await _close([budget])


async def test_a_killed_replicas_leases_expire(database_url: str, db_pool: asyncpg.Pool) -> None:
    (budget,) = await _replicas(
        database_url,
        1,
        max_in_flight=2,
        request_timeout_seconds=0.1,
        max_wait_seconds={"webhook": 0.2, "incremental": 1, "bulk": 1},
    )
    org = unique_org()
    try:
        await budget.acquire(org, "books", "bulk")
        await budget.acquire(org, "books", "bulk")  # both "leaked": never released
        with pytest.raises(BudgetExhaustedError, match="in-flight"):
            await budget.acquire(org, "books", "webhook")
        # Leases expire after request timeout + slack: simulate the time passing.
        await db_pool.execute(
            "UPDATE zoho_proxy_budgets SET in_flight = "
            "(SELECT jsonb_object_agg(k, 0) FROM jsonb_object_keys(in_flight) AS k) "
            "WHERE org_id = $1",
            org,
        )
        lease: Lease = await budget.acquire(org, "books", "webhook")
        stored = await db_pool.fetchval(
            "SELECT in_flight FROM zoho_proxy_budgets WHERE org_id = $1", org
        )
        assert list(stored) == [str(lease.id)]  # the grant also swept the expired ones
        await budget.release(lease)
        (snapshot,) = [b for b in await budget.snapshot() if b["organization_id"] == org]
        assert snapshot["in_flight"]["used"] == 0
    finally:
        await _close([budget])


async def test_zoho_headers_and_throttles_reach_the_shared_row(database_url: str) -> None:
    budgets = await _replicas(database_url, 2, daily_limit=1000, daily_reserve=10)
    org = unique_org()
    try:
        lease = await budgets[0].acquire(org, "books", "webhook")
        await budgets[0].release(
            lease,
            headers={
                "x-rate-limit-limit": "1000",
                "x-rate-limit-remaining": "12",
                "x-rate-limit-reset": "500",
            },
        )
        await budgets[0].drain()  # the release's write has landed
        # Folded into the shared row with replica 0's next decision...
        await budgets[0].release(await budgets[0].acquire(org, "books", "webhook"))
        # ...then the other replica sees Zoho's word: 12 - 1 left, so bulk (reserve 10) gets 1.
        for _ in range(1):
            await budgets[1].release(await budgets[1].acquire(org, "books", "bulk"))
        with pytest.raises(BudgetExhaustedError) as caught:
            await budgets[1].acquire(org, "books", "bulk")
        assert 400 < (caught.value.retry_after_seconds or 0) <= 501
        lease = await budgets[1].acquire(org, "books", "webhook")
        await budgets[1].release(lease, throttle_code=44)
        await budgets[1].drain()
        with pytest.raises(BudgetExhaustedError, match="per-minute"):
            await budgets[0].acquire(org, "books", "webhook")
    finally:
        await _close(budgets)


async def test_products_can_share_one_pool(database_url: str) -> None:
    waits = {"webhook": 0.0, "incremental": 0.0, "bulk": 0.0}
    (separate,) = await _replicas(database_url, 1, per_minute_limit=2, max_wait_seconds=waits)
    (shared,) = await _replicas(
        database_url, 1, per_minute_limit=2, max_wait_seconds=waits, shared_product_pools=True
    )
    org_a, org_b = unique_org(), unique_org()
    try:
        for budget, org in ((separate, org_a), (shared, org_b)):
            await budget.release(await budget.acquire(org, "books", "webhook"))
            await budget.release(await budget.acquire(org, "books", "webhook"))
        # Separate pools: Inventory still has its own two calls; shared: the books calls count.
        await separate.release(await separate.acquire(org_a, "inventory", "webhook"))
        with pytest.raises(BudgetExhaustedError, match="per-minute"):
            await shared.acquire(org_b, "inventory", "webhook")
    finally:
        await _close([separate, shared])


async def test_a_webhook_waiting_on_one_replica_holds_bulk_back_on_another(
    database_url: str,
) -> None:
    a, b = await _replicas(database_url, 2, max_in_flight=1)
    org = unique_org()
    granted: list[str] = []
    try:
        held = await a.acquire(org, "books", "bulk")

        async def call(budget: Budget, lane: Lane, name: str) -> None:
            lease = await budget.acquire(org, "books", lane)
            granted.append(name)
            await asyncio.sleep(0.01)
            await budget.release(lease)

        bulk = [asyncio.create_task(call(a, "bulk", f"bulk{i}")) for i in range(5)]
        await asyncio.sleep(0.1)  # replica a's bulk callers queue behind the held slot
        webhook = asyncio.create_task(call(b, "webhook", "webhook"))
        await asyncio.sleep(0.1)  # replica b's webhook caller is waiting too, and says so
        (snapshot,) = [s for s in await b.snapshot() if s["organization_id"] == org]
        assert snapshot["lanes_holding_back_lower"] == ["webhook"]
        await a.release(held)
        await asyncio.gather(webhook, *bulk)
    finally:
        await _close([a, b])
    # Replica a's own waiters are woken first by its own release, yet the webhook goes first.
    assert granted[0] == "webhook", granted
    assert sorted(granted[1:]) == [f"bulk{i}" for i in range(5)]
