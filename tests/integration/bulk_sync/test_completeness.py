"""Documents without their line items: counted, said, worked off newest first across runs."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client import REGISTRY

from tds_common.events import parse_zoho_timestamp
from tds_common.mirror import Change, map_change, write_changes
from tests.utils.zoho import PROXY_AUTH

from .conftest import SCALE, MakeBulk
from .helpers import BulkSync


async def _completeness(bulk: BulkSync) -> dict[str, Any]:
    response = await bulk.api.get("/api/zoho/sync/completeness")
    assert response.status_code == 200, response.text
    organizations: dict[str, dict[str, Any]] = response.json()["organizations"]
    return organizations[bulk.org]


async def _without_lines(bulk: BulkSync) -> set[str]:
    """Invoices that really have no line items in the mirror."""
    records = await bulk.pool.fetch(
        "SELECT i.invoice_id FROM zoho.invoices i WHERE i.org_id = $1 AND i.deleted_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM zoho.invoice_line_items l WHERE l.org_id = i.org_id "
        "AND l.invoice_id = i.invoice_id)",
        bulk.org,
    )
    return {r["invoice_id"] for r in records}


def _gauge(org: str, entity: str) -> float | None:
    return REGISTRY.get_sample_value(
        "tds_bulk_sync_details_pending", {"org": org, "entity": entity}
    )


async def test_a_capped_first_sync_says_what_it_left_and_later_runs_finish_it(
    make_bulk: MakeBulk,
) -> None:
    async with make_bulk(max_detail_calls_per_run=120) as bulk:
        first = (await bulk.sync(mode="full", entities=["invoices"]))[0]

        assert first["status"] == "completed"
        assert first["details_pending"] == SCALE - 120
        missing = await _without_lines(bulk)
        assert len(missing) == SCALE - 120
        assert (await _completeness(bulk))["invoices"] == {
            "rows": SCALE,
            "details_pending": SCALE - 120,
        }
        assert _gauge(bulk.org, "invoices") == SCALE - 120
        # Newest first: every document with its lines is newer than every one still without.
        rows = await bulk.rows("invoices", "invoice_id")
        done = [r["zoho_last_modified_time"] for k, r in rows.items() if k not in missing]
        waiting = [r["zoho_last_modified_time"] for k, r in rows.items() if k in missing]
        assert min(done) >= max(waiting)

        second = (await bulk.sync(mode="incremental", entities=["invoices"]))[0]
        assert second["details_pending"] == SCALE - 240
        third = (await bulk.sync(mode="incremental", entities=["invoices"]))[0]
        assert third["details_pending"] == 0
        assert await _without_lines(bulk) == set()
        assert (await _completeness(bulk))["invoices"] == {"rows": SCALE, "details_pending": 0}
        assert _gauge(bulk.org, "invoices") == 0
        # Only the details that were missing were read: one list call plus 120 / 60 details.
        assert second["api_calls"] == 1 + 120 and third["api_calls"] == 1 + 60


PROXY_DAILY_LIMIT = 10**7
PROXY_DAILY_RESERVE = 200
"""The module's proxy (conftest) and its default reserve for live traffic."""


async def test_details_stay_inside_the_bulk_lanes_share_of_the_day(make_bulk: MakeBulk) -> None:
    """The proxy's budget says how many calls the bulk lane has left today; detail reads stop
    where only the headroom kept for the list calls of the org's other runs is left."""
    headroom = PROXY_DAILY_LIMIT - PROXY_DAILY_RESERVE - 100  # the bulk lane may spend 100
    async with make_bulk(detail_headroom_calls=headroom) as bulk:
        run = (await bulk.sync(mode="full", entities=["invoices"]))[0]
    async with httpx.AsyncClient(base_url=bulk.zoho.proxy_url, headers=PROXY_AUTH) as proxy:
        budgets = (await proxy.get("/api/zoho/budget")).json()["budgets"]
    day = next(b["day"] for b in budgets if b["organization_id"] == bulk.org)
    assert (day["limit"], day["reserve"]) == (PROXY_DAILY_LIMIT, PROXY_DAILY_RESERVE)
    assert run["status"] == "completed"
    assert day["used"] == run["api_calls"] == 100  # 2 list calls, then 98 details
    assert run["details_pending"] == SCALE - 98 == len(await _without_lines(bulk))


async def test_a_webhook_with_the_whole_record_clears_a_pending_detail(
    make_bulk: MakeBulk,
) -> None:
    async with make_bulk(max_detail_calls_per_run=0) as bulk:
        run = (await bulk.sync(mode="full", entities=["invoices"]))[0]
        assert run["details_pending"] == SCALE
        invoice_id = sorted(await _without_lines(bulk))[0]
        record = await bulk.zoho.record(bulk.org, "invoices", invoice_id)
        change = Change(
            entity="invoices",
            org_id=bulk.org,
            zoho_id=invoice_id,
            op="upsert",
            record=record,
            source="webhook",
            last_modified_time=parse_zoho_timestamp(record["last_modified_time"]),
        )
        async with bulk.pool.acquire() as conn, conn.transaction():
            await write_changes(conn, [map_change(change)])

        assert (await _completeness(bulk))["invoices"]["details_pending"] == SCALE - 1
        assert invoice_id not in await _without_lines(bulk)


async def test_every_replica_reports_the_databases_backlog_and_drift(make_bulk: MakeBulk) -> None:
    """The gauges come from PostgreSQL, not from whichever replica did the work.

    A replica that never ran the sync (here: the gauges reset as on a fresh process) reports the
    same backlog after a refresh, and a backlog worked off elsewhere is not left standing.
    """
    from bulk_sync import gauges, metrics

    async with make_bulk(max_detail_calls_per_run=120) as bulk:
        await bulk.sync(mode="full", entities=["invoices"])
        metrics.DETAILS_PENDING.clear()
        metrics.DRIFT_ROWS.clear()
        assert _gauge(bulk.org, "invoices") is None
        async with bulk.pool.acquire() as conn:
            await gauges.refresh_all(conn)
        assert _gauge(bulk.org, "invoices") == len(await _without_lines(bulk)) == SCALE - 120

        # Another replica finished the backlog: a stale high value here would keep alerting.
        metrics.DETAILS_PENDING.labels(bulk.org, "invoices").set(SCALE)
        await bulk.pool.execute(
            "UPDATE tds_sync_runs SET drift_rows = 3, completed_at = clock_timestamp() "
            "WHERE id = (SELECT id FROM tds_sync_runs WHERE org_id = $1 "
            "ORDER BY requested_at DESC LIMIT 1)",
            bulk.org,
        )
        await bulk.pool.execute(
            "DELETE FROM zoho.invoices WHERE org_id = $1 AND invoice_id = ANY($2::text[])",
            bulk.org,
            sorted(await _without_lines(bulk)),
        )
        async with bulk.pool.acquire() as conn:
            await gauges.refresh_all(conn)
        assert _gauge(bulk.org, "invoices") == 0
        assert REGISTRY.get_sample_value("tds_mirror_drift_rows", {"entity": "invoices"}) == 3
