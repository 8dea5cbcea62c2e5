"""Full runs never delete a live row, and page linearly, whatever Zoho's lists do.

The simulator, a real zoho-proxy (with a hook that lets a test change Zoho between two of the
run's list calls), PostgreSQL and Kafka. The reproduced wrong deletion: a crowded second (more
records share one second than fit on a page) walked by offset while an edit shifts the offsets.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from prometheus_client import REGISTRY

from bulk_sync import held as held_sweeps
from tests.utils.zoho import proxy_settings, sim_settings, unique_refresh_token
from zoho_proxy.app import create_app as create_proxy_app
from zoho_sim.settings import LimitSettings, OrgSettings
from zoho_sim.testing import run_in_thread, serve_app_in_thread

from .conftest import ORGS, SCALE, MakeBulk
from .helpers import BulkSync, Zoho, wait_runs

Hook = Callable[[str, dict[str, list[str]]], Awaitable[None]]


class HookedZoho(Zoho):
    """The simulator and proxy, plus hooks run before the proxy serves a request."""

    hooks: list[Hook]

    def list_calls(self, entity: str) -> int:
        """Calls of the list walk (the drift verifier's samples sort by another column)."""
        return sum(
            1
            for path, query in self.proxy_calls
            if path == f"/v1/{entity}" and "sort_column=last_modified_time" in query
        )


@pytest.fixture(scope="module", name="zoho")
def fixture_zoho(database_url: str) -> Iterator[HookedZoho]:
    refresh_token = unique_refresh_token()
    sim = sim_settings(
        refresh_token,
        [OrgSettings(organization_id=org, daily_quota=10**7) for org in ORGS],
        scale=SCALE,
        limits=LimitSettings(per_minute=10**6),
    )
    with run_in_thread(sim) as sim_url:
        settings = proxy_settings(
            database_url,
            sim_url,
            zoho_refresh_token=refresh_token,
            zoho_organization_id=ORGS[0],
            per_minute_limit=10**6,
            daily_limit=10**7,
        )
        calls: list[tuple[str, str]] = []
        hooks: list[Hook] = []
        app = _hooked(create_proxy_app(settings), calls, hooks)
        with serve_app_in_thread(app) as proxy_url:
            zoho = HookedZoho(sim_url, proxy_url, calls)
            zoho.hooks = hooks
            yield zoho


def _hooked(app: Any, calls: list[tuple[str, str]], hooks: list[Hook]) -> Any:
    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode()
            calls.append((scope["path"], query))
            for hook in list(hooks):
                await hook(scope["path"], parse_qs(query))
        await app(scope, receive, send)

    return asgi


@pytest.fixture(autouse=True)
async def fixture_clean_zoho(zoho: HookedZoho) -> Any:
    """Every test starts with Zoho's default list behaviour and no hooks."""
    yield
    zoho.hooks.clear()
    async with httpx.AsyncClient(base_url=zoho.sim_url) as client:
        defaults: dict[str, list[str]] = {
            "last_modified_ignored_for": [],
            "default_lists_active_only": [],
        }
        response = await client.put("/_sim/api", json=defaults)
        response.raise_for_status()


async def _live(bulk: BulkSync, table: str, id_column: str) -> set[str]:
    rows = await bulk.rows(table, id_column)
    return {k for k, r in rows.items() if r["deleted_at"] is None}


def _held_gauge(org: str, entity: str) -> float | None:
    return REGISTRY.get_sample_value("tds_bulk_sync_sweeps_held", {"org": org, "entity": entity})


async def test_a_crowded_second_edited_during_a_full_run_deletes_nothing_live(
    make_bulk: MakeBulk, zoho: HookedZoho
) -> None:
    """120 contacts share one second, 50 per page; when the run asks for page 2 of that
    second, the first contact of page 1 is edited, so every later one slides a place forward.
    Before: the contact that slid onto page 1 was never listed, then marked deleted."""
    async with make_bulk(per_page=50) as bulk:
        first = await bulk.sync(mode="full", entities=["customers"])
        assert first[0]["status"] == "completed"
        everyone = sorted(await zoho.index(bulk.org, "customers"))
        crowded = everyone[100:220]
        imported = await zoho.sim(
            "PATCH",
            f"/_sim/orgs/{bulk.org}/contacts",
            {"ids": crowded, "fields": {"phone": "+1-555-0100"}},
        )
        assert imported["count"] == 120
        edited: list[str] = []

        async def edit_on_page_two(path: str, query: dict[str, list[str]]) -> None:
            if path == "/v1/customers" and query.get("page") == ["2"] and not edited:
                edited.append(crowded[0])  # ties sort by id: it was on page 1 of the second
                async with httpx.AsyncClient(base_url=zoho.sim_url) as client:
                    path = f"/_sim/orgs/{bulk.org}/contacts/{crowded[0]}"
                    response = await client.patch(path, json={"phone": "+1-555-0199"})
                    response.raise_for_status()

        zoho.hooks.append(edit_on_page_two)
        run = (await bulk.sync(mode="full", entities=["customers"]))[0]

        assert edited, "the run never paged through the crowded second"
        assert run["status"] == "completed", run
        assert run["checkpoint"]["customers"]["deleted"] == 0
        assert await _live(bulk, "customers", "contact_id") == set(everyone)
        rows = await bulk.rows("customers", "contact_id")
        assert rows[crowded[0]]["phone"] == "+1-555-0199"
        assert all(rows[i]["phone"] == "+1-555-0100" for i in crowded[1:])


async def test_an_ignored_filter_pages_linearly_and_deletions_are_confirmed_with_zoho(
    make_bulk: MakeBulk, zoho: HookedZoho
) -> None:
    """Before: every cursor move went back to page 1 (quadratic: 6 pages cost 21 calls)."""
    async with make_bulk(per_page=50) as bulk:
        await zoho.sim("PUT", "/_sim/api", {"last_modified_ignored_for": ["contacts"]})
        before = zoho.list_calls("customers")
        run = (await bulk.sync(mode="full", entities=["customers"]))[0]
        assert run["status"] == "completed", run
        assert zoho.list_calls("customers") - before == math.ceil(SCALE / 50) + 1  # +1: noticing
        everyone = await zoho.index(bulk.org, "customers")
        assert await _live(bulk, "customers", "contact_id") == set(everyone)
        assert run["checkpoint"]["customers"]["cursor"]["paging"] == "linear"

        # Incremental: newest first, stopping once past the high-water mark.
        ids = sorted(everyone)
        for zoho_id in ids[:3]:
            await zoho.edit(bulk.org, "customers", zoho_id, {"phone": f"+1-555-{zoho_id[-4:]}"})
        before = zoho.list_calls("customers")
        incremental = (await bulk.sync(mode="incremental", entities=["customers"]))[0]
        assert incremental["status"] == "completed", incremental
        assert zoho.list_calls("customers") - before == 2  # noticing, then one page
        rows = await bulk.rows("customers", "contact_id")
        assert all(rows[i]["phone"] == f"+1-555-{i[-4:]}" for i in ids[:3])

        # A full run in linear mode asks Zoho about every row it would delete.
        await zoho.delete(bulk.org, "contacts", ids[10])
        details_before = sum(1 for p, _ in zoho.proxy_calls if p.startswith("/v1/customers/"))
        again = (await bulk.sync(mode="full", entities=["customers"]))[0]
        assert again["status"] == "completed", again
        state = again["checkpoint"]["customers"]
        assert state["deleted"] == 1 and state["deletions_confirmed_with_zoho"] == 1
        details = sum(1 for p, _ in zoho.proxy_calls if p.startswith("/v1/customers/"))
        assert details - details_before == 1
        assert await _live(bulk, "customers", "contact_id") == set(everyone) - {ids[10]}


async def test_inactive_records_are_listed_and_never_swept(
    make_bulk: MakeBulk, zoho: HookedZoho
) -> None:
    """If Zoho's lists default to active records only, a run that sends no filter_by sees the
    inactive ones as deleted. Before: every inactive contact and item was swept."""
    async with make_bulk(per_page=100) as bulk:
        first = await bulk.sync(mode="full", entities=["customers", "products"])
        assert all(r["status"] == "completed" for r in first)
        customers = await _live(bulk, "customers", "contact_id")
        products = await _live(bulk, "products", "item_id")
        rows = await bulk.rows("customers", "contact_id")
        assert any(r["raw"]["status"] == "inactive" for r in rows.values())

        await zoho.sim("PUT", "/_sim/api", {"default_lists_active_only": ["contacts", "items"]})
        runs = await bulk.sync(mode="full", entities=["customers", "products"])
        assert all(r["status"] == "completed" for r in runs), runs
        assert all(r["checkpoint"][r["entity_type"]]["deleted"] == 0 for r in runs)
        assert await _live(bulk, "customers", "contact_id") == customers
        assert await _live(bulk, "products", "item_id") == products
        sent = [q for p, q in zoho.proxy_calls if p in ("/v1/customers", "/v1/products")]
        assert sent and all("filter_by=Status.All" in q for q in sent)


async def test_a_sweep_of_too_many_rows_is_held_until_confirmed(
    make_bulk: MakeBulk, zoho: HookedZoho
) -> None:
    """More than 5 % of the live rows gone at once: nothing is deleted until a person says so."""
    async with make_bulk(per_page=100) as bulk:
        await bulk.sync(mode="full", entities=["customers"])
        ids = sorted(await _live(bulk, "customers", "contact_id"))
        gone = ids[:20]  # 20 of 300: 6.7 %
        for zoho_id in gone:
            await zoho.delete(bulk.org, "contacts", zoho_id)

        held = (await bulk.sync(mode="full", entities=["customers"]))[0]
        assert held["status"] == "needs_confirmation", held
        assert held["checkpoint"]["customers"]["sweep"] == {
            "held": True,
            "candidates": 20,
            "live": 300,
        }
        assert await _live(bulk, "customers", "contact_id") == set(ids)
        assert _held_gauge(bulk.org, "customers") == 1

        response = await bulk.api.post(f"/api/zoho/sync/runs/{held['id']}/confirm-sweep")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "pending"
        done = (await wait_runs(bulk.api, [held["id"]]))[0]
        assert done["status"] == "completed", done
        assert done["checkpoint"]["customers"]["deleted"] == 20
        assert await _live(bulk, "customers", "contact_id") == set(ids) - set(gone)
        assert _held_gauge(bulk.org, "customers") == 0

        again = await bulk.api.post(f"/api/zoho/sync/runs/{held['id']}/confirm-sweep")
        assert again.status_code == 409 and again.json()["error_code"] == "sweep_not_held"
        unknown = await bulk.api.post(
            "/api/zoho/sync/runs/00000000-0000-0000-0000-000000000001/confirm-sweep"
        )
        assert unknown.status_code == 404
        assert (await bulk.api.post("/api/zoho/sync/runs/nope/confirm-sweep")).status_code == 404


async def test_a_held_sweep_can_be_declined(make_bulk: MakeBulk, zoho: HookedZoho) -> None:
    async with make_bulk(per_page=100, max_sweep_share=0.01) as bulk:
        await bulk.sync(mode="full", entities=["customers"])
        ids = sorted(await _live(bulk, "customers", "contact_id"))
        for zoho_id in ids[:4]:
            await zoho.delete(bulk.org, "contacts", zoho_id)
        held = (await bulk.sync(mode="full", entities=["customers"]))[0]
        assert held["status"] == "needs_confirmation"
        declined = await bulk.api.post(f"/api/zoho/sync/runs/{held['id']}/cancel")
        assert declined.status_code == 200 and declined.json()["status"] == "cancelled"
        assert await _live(bulk, "customers", "contact_id") == set(ids)
        async with bulk.pool.acquire() as conn:
            await held_sweeps.refresh_gauge(conn)
        assert _held_gauge(bulk.org, "customers") == 0
        seen = await bulk.pool.fetchval(
            "SELECT count(*) FROM tds_sync_run_seen WHERE run_id = $1::uuid", held["id"]
        )
        assert seen == 0
