"""The budget's database statements are timed, and lost races counted, on a real PostgreSQL.

``tds_zoho_proxy_budget_db_seconds`` is what shows a commit stall that BUDGET_WAIT cannot tell
from waiting for the window; these tests check that every statement of a grant and a release is
observed under its own ``operation``, and that a lost optimistic race is counted.
"""

from __future__ import annotations

from typing import Any, cast

import asyncpg
from prometheus_client import REGISTRY

from tests.utils.zoho import proxy_settings, unique_org
from zoho_proxy.budget import Budget
from zoho_proxy.db import create_proxy_pool

OPERATIONS = ("read", "write", "insert_row", "release")


def _counts() -> dict[str, float]:
    """Observations so far per operation, and the lost races (``conflicts``)."""
    counts = {
        op: REGISTRY.get_sample_value("tds_zoho_proxy_budget_db_seconds_count", {"operation": op})
        or 0.0
        for op in OPERATIONS
    }
    counts["conflicts"] = (
        REGISTRY.get_sample_value("tds_zoho_proxy_budget_write_conflicts_total") or 0.0
    )
    return counts


def _increase(before: dict[str, float]) -> dict[str, float]:
    after = _counts()
    return {key: after[key] - before[key] for key in after}


class _RivalWritesAfterRead:
    """The budget's pool, except that right after the next read of the budget row another
    replica's write bumps the row's version: the decision's version-checked write then loses."""

    def __init__(self, pool: asyncpg.Pool, rival: asyncpg.Pool) -> None:
        self._pool = pool
        self._rival = rival
        self.armed = False

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        record = await self._pool.fetchrow(query, *args)
        if self.armed and record is not None:
            self.armed = False
            await self._rival.execute(
                "UPDATE zoho_proxy_budgets SET version = version + 1 "
                "WHERE org_id = $1 AND product = $2",
                *args,
            )
        return record

    async def execute(self, query: str, *args: Any) -> str:
        result: str = await self._pool.execute(query, *args)
        return result


async def test_a_grant_and_its_release_observe_each_statement(database_url: str) -> None:
    pool = await create_proxy_pool(database_url, max_size=2)
    budget = Budget(pool, proxy_settings(database_url))
    org = unique_org()
    try:
        before = _counts()
        lease = await budget.acquire(org, "books", "webhook")
        # A new organization: the read finds no row, inserts it, reads again, writes the grant.
        assert _increase(before) == {
            "read": 2,
            "write": 1,
            "insert_row": 1,
            "release": 0,
            "conflicts": 0,
        }
        before = _counts()
        await budget.release(lease)
        await budget.drain()  # the release's write runs in the background
        assert _increase(before) == {
            "read": 0,
            "write": 0,
            "insert_row": 0,
            "release": 1,
            "conflicts": 0,
        }
    finally:
        await pool.close()


async def test_a_lost_race_is_counted_and_its_statements_observed(
    database_url: str, db_pool: asyncpg.Pool
) -> None:
    pool = await create_proxy_pool(database_url, max_size=2)
    racing = _RivalWritesAfterRead(pool, db_pool)
    budget = Budget(cast(asyncpg.Pool, racing), proxy_settings(database_url))
    org = unique_org()
    try:
        await budget.release(await budget.acquire(org, "books", "bulk"))  # the row exists
        await budget.drain()
        before = _counts()
        racing.armed = True
        lease = await budget.acquire(org, "books", "bulk")
        assert not racing.armed  # the rival did write between the read and the write
        # The first attempt's write lost; the second attempt read the new version and won.
        assert _increase(before) == {
            "read": 2,
            "write": 2,
            "insert_row": 0,
            "release": 0,
            "conflicts": 1,
        }
        await budget.release(lease)
        await budget.drain()
    finally:
        await pool.close()
