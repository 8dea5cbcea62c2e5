"""The verifier: incremental runs compare mirror rows with Zoho and repair what differs."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client import REGISTRY

from tests.utils.zoho import PROXY_AUTH

from .conftest import MakeBulk
from .helpers import BulkSync


async def _created_order(bulk: BulkSync) -> list[dict[str, Any]]:
    """Zoho's contacts sorted by created_time, as the verifier pages through them."""
    records: list[dict[str, Any]] = []
    async with httpx.AsyncClient(
        base_url=bulk.zoho.proxy_url, headers=PROXY_AUTH, timeout=60
    ) as client:
        page = 1
        while True:
            params: dict[str, str | int] = {
                "page": page,
                "per_page": 200,
                "sort_column": "created_time",
                "sort_order": "A",
                "filter_by": "Status.All",
            }
            response = await client.get(
                "/v1/customers", params=params, headers={"X-TDS-Org": bulk.org}
            )
            body = response.json()
            records.extend(body["records"])
            if not body["page_context"]["has_more_page"]:
                return records
            page += 1


async def _break_the_mirror(bulk: BulkSync, ids: list[str]) -> None:
    """Four kinds of drift no incremental list can see (all older than the high-water mark):
    a wrong deletion, a wrong column, a lost row, and a deletion whose webhook Zoho dropped."""
    wrongly_deleted, wrong_email, lost, deleted_in_zoho = ids
    org = bulk.org
    await bulk.pool.execute(
        "UPDATE zoho.customers SET deleted_at = now() WHERE org_id = $1 AND contact_id = $2",
        org,
        wrongly_deleted,
    )
    await bulk.pool.execute(
        "UPDATE zoho.customers SET email = 'wrong@example.com', "
        "raw = jsonb_set(raw, '{email}', '\"wrong@example.com\"') "
        "WHERE org_id = $1 AND contact_id = $2",
        org,
        wrong_email,
    )
    await bulk.pool.execute(
        "DELETE FROM zoho.customers WHERE org_id = $1 AND contact_id = $2", org, lost
    )
    await bulk.zoho.delete(org, "customers", deleted_in_zoho)


async def _mirror_equals_zoho(bulk: BulkSync) -> None:
    zoho = {r["contact_id"]: r for r in await _created_order(bulk)}
    rows = {
        k: r
        for k, r in (await bulk.rows("customers", "contact_id")).items()
        if r["deleted_at"] is None
    }
    assert set(rows) == set(zoho)
    for contact_id, record in zoho.items():
        assert rows[contact_id]["email"] == (record["email"] or None), contact_id


def _gauge(entity: str) -> float | None:
    return REGISTRY.get_sample_value("tds_mirror_drift_rows", {"entity": entity})


async def test_an_incremental_run_finds_and_repairs_drift_everywhere_when_budget_allows(
    make_bulk: MakeBulk,
) -> None:
    async with make_bulk(verify_max_calls=None) as bulk:
        await bulk.sync(mode="full", entities=["customers"])
        order = [r["contact_id"] for r in await _created_order(bulk)]
        await _break_the_mirror(bulk, [order[10], order[120], order[230], order[280]])

        run = (await bulk.sync(mode="incremental", entities=["customers"]))[0]

        assert run["status"] == "completed", run
        assert run["drift_rows"] == 4
        assert _gauge("customers") == 4
        await _mirror_equals_zoho(bulk)
        again = (await bulk.sync(mode="incremental", entities=["customers"]))[0]
        assert again["drift_rows"] == 0 and _gauge("customers") == 0


async def test_a_short_budget_verifies_a_sample_and_the_next_run_continues(
    make_bulk: MakeBulk,
) -> None:
    async with make_bulk(verify_max_calls=1) as bulk:
        await bulk.sync(mode="full", entities=["customers"])
        order = [r["contact_id"] for r in await _created_order(bulk)]
        await _break_the_mirror(bulk, [order[20], order[220], order[50], order[250]])

        first = (await bulk.sync(mode="incremental", entities=["customers"]))[0]
        assert first["drift_rows"] == 2  # page 1 (the first 200 created) only
        assert first["checkpoint"]["customers"]["verify_next_page"] == 2
        rows = await bulk.rows("customers", "contact_id")
        assert rows[order[220]]["email"] == "wrong@example.com"  # page 2: not yet

        second = (await bulk.sync(mode="incremental", entities=["customers"]))[0]
        assert second["drift_rows"] == 2
        assert second["checkpoint"]["customers"]["verify_next_page"] == 1  # wrapped around
        await _mirror_equals_zoho(bulk)
