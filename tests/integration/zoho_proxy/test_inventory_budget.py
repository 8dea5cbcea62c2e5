"""Inventory's own per-minute limit: one setting no longer covers both products."""

from __future__ import annotations

import pytest

from tests.utils.zoho import proxy_settings, unique_org
from zoho_proxy.budget import Budget
from zoho_proxy.db import create_proxy_pool
from zoho_proxy.errors import BudgetExhaustedError

NO_WAIT = {"webhook": 0.0, "incremental": 0.0, "bulk": 0.0}


async def test_inventory_spends_its_own_per_minute_limit(database_url: str) -> None:
    settings = proxy_settings(
        database_url,
        per_minute_limit=4,
        inventory_per_minute_limit=2,
        max_wait_seconds=NO_WAIT,
        window_seconds=60.0,
    )
    pool = await create_proxy_pool(database_url, max_size=2)
    budget = Budget(pool, settings)
    org = unique_org()
    try:
        for _ in range(2):
            await budget.release(await budget.acquire(org, "inventory", "webhook"))
        with pytest.raises(BudgetExhaustedError, match="per-minute"):
            await budget.acquire(org, "inventory", "webhook")
        for _ in range(4):  # Books keeps its own, larger window
            await budget.release(await budget.acquire(org, "books", "webhook"))
        with pytest.raises(BudgetExhaustedError, match="per-minute"):
            await budget.acquire(org, "books", "webhook")
        snapshot = {
            row["product"]: row for row in await budget.snapshot() if row["organization_id"] == org
        }
        assert snapshot["inventory"]["minute"] == {"limit": 2, "used": 2, "left": 0}
        assert snapshot["books"]["minute"]["limit"] == 4
    finally:
        await pool.close()


async def test_the_budget_answer_counts_what_zoho_just_said(database_url: str) -> None:
    """bulk-sync plans its detail reads on GET /api/zoho/budget: a new day Zoho's headers just
    announced must show at once, not after the next call folds it in."""
    settings = proxy_settings(
        database_url, daily_limit=300, daily_reserve=20, max_wait_seconds=NO_WAIT
    )
    pool = await create_proxy_pool(database_url, max_size=2)
    budget = Budget(pool, settings)
    org = unique_org()
    late_in_the_day = {
        "x-rate-limit-limit": "300",
        "x-rate-limit-remaining": "25",
        "x-rate-limit-reset": "100",
    }
    new_day = {
        "x-rate-limit-limit": "300",
        "x-rate-limit-remaining": "299",
        "x-rate-limit-reset": "86390",
    }
    try:
        await budget.release(await budget.acquire(org, "books", "webhook"), headers=late_in_the_day)
        await budget.release(await budget.acquire(org, "books", "webhook"))  # folds it in
        (before,) = [r for r in await budget.snapshot() if r["organization_id"] == org]
        assert before["day"]["left"] <= 25

        await budget.release(await budget.acquire(org, "books", "webhook"), headers=new_day)

        (after,) = [r for r in await budget.snapshot() if r["organization_id"] == org]
        assert after["day"]["left"] == 299
        assert after["day"]["resets_in_seconds"] > 86000
    finally:
        await pool.close()
