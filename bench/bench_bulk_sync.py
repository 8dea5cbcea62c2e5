"""bulk-sync throughput against the simulator through a real zoho-proxy and PostgreSQL.

Measured in one run, on one machine, against one baseline:

- records/s of a full sync (list pages + stored-row lookups + mirror writes + checkpoint per
  page) of customers and products, versus the raw cost of the very same list calls through the
  proxy with nothing written (the floor any sync pays): the ratio says what the mirror costs;
- API calls spent per 1,000 records: a first full sync of invoices (one detail read per document
  for its line items), a repeat full sync with nothing changed (list pages only), stock (one
  ``itemdetails`` call per 100 items).

Runs the executor directly (no Kafka: the command path adds one message per run), in a scratch
database of the tests' shared PostgreSQL (``tests.utils.stack``) with the tests' simulator and
proxy settings (``tests.utils.zoho``). Run: ``python -m bench bulk_sync``
(``BENCH_BULK_SYNC_SCALE`` sets the records per entity; invoices get a quarter of it).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

import httpx

from bench.bench_bulk_budget import keyset_list_calls
from bench.results import Results
from bulk_sync import runs
from bulk_sync.executor import RunExecutor
from bulk_sync.inventory_only import lists_inventory_too
from bulk_sync.models import SyncCommand
from bulk_sync.proxy import SyncProxy
from bulk_sync.settings import ProxySettings, SyncSettings
from tds_common.db import create_pool
from tds_common.proxy_client import ProxyClient
from tests.utils.stack import scratch_database
from tests.utils.zoho import PROXY_AUTH, proxy_settings, sim_settings, unique_refresh_token
from zoho_proxy.app import create_app as create_proxy_app
from zoho_sim.settings import LimitSettings, OrgSettings
from zoho_sim.testing import run_in_thread, serve_app_in_thread

SECTION = "bulk sync, Zoho's limits lifted"
ORG = "70000000099"
INVOICE_SCALE_DIVISOR = 4
LIST_ROOTS = ("books", "inventory")


async def _raw_listing(proxy_url: str, entity: str) -> tuple[dict[str, int], float]:
    """Page through the lists exactly as a sync does, writing nothing: records per source.

    A full products sync lists Books and then Inventory (for the items only Inventory has), and
    counts every record of both listings, so the baseline pages through both too.
    """
    started = time.perf_counter()
    records: dict[str, int] = {}
    sources = [None, "inventory"] if lists_inventory_too(entity, "full") else [None]
    async with httpx.AsyncClient(base_url=proxy_url, headers=PROXY_AUTH, timeout=60) as client:
        for source in sources:
            page = 1
            while True:
                params: dict[str, str | int] = {
                    "page": page,
                    "per_page": 200,
                    "sort_column": "last_modified_time",
                    "sort_order": "A",
                }
                if source:
                    params["source"] = source
                response = await client.get(
                    f"/v1/{entity}", params=params, headers={"X-TDS-Org": ORG, "X-TDS-Lane": "bulk"}
                )
                response.raise_for_status()
                body = response.json()
                key = source or "books"
                records[key] = records.get(key, 0) + len(body["records"])
                if not body["page_context"].get("has_more_page"):
                    break
                page += 1
    return records, time.perf_counter() - started


async def _list_calls(sim: httpx.AsyncClient) -> dict[str, int]:
    """List calls answered 200 since the counters' reset, per product (books, inventory)."""
    calls: dict[str, dict[str, int]] = (await sim.get("/_sim/counters")).json()["calls"]
    out: dict[str, int] = {}
    for key, by_status in calls.items():
        method, _, path = key.partition(" ")
        product = path.split("/")[1] if path.count("/") >= 3 else ""
        if method == "GET" and product in LIST_ROOTS and "{id}" not in path:
            if not path.endswith("/itemdetails"):
                out[product] = out.get(product, 0) + by_status.get("200", 0)
    return out


async def _sync(executor: RunExecutor, pool: Any, entity: str) -> tuple[dict[str, Any], float]:
    async with pool.acquire() as conn:
        run = (await runs.create_runs(conn, ORG, [entity], "full", {"bench": True}))[0]
    command = SyncCommand(run_id=run.id, org_id=ORG, entities=[entity], mode="full")
    started = time.perf_counter()
    outcome = await executor.execute(command)
    elapsed = time.perf_counter() - started
    assert outcome == "completed", outcome
    async with pool.acquire() as conn:
        done = await runs.get_run(conn, uuid.UUID(run.id))
    assert done is not None
    return done.model_dump(), elapsed


async def _bench(results: Results, database_url: str, sim_url: str, proxy_url: str) -> None:
    say = lambda line: results.say(SECTION, line)  # noqa: E731
    pool = await create_pool(database_url, max_size=5)
    stop = asyncio.Event()
    async with (
        httpx.AsyncClient(base_url=proxy_url, headers=PROXY_AUTH, timeout=60) as http,
        httpx.AsyncClient(base_url=sim_url, timeout=30) as sim,
    ):
        proxy = SyncProxy(ProxyClient(http), ProxySettings(), stop)
        executor = RunExecutor(pool, proxy, SyncSettings(max_detail_calls_per_run=None), stop)
        say(
            f"{'entity':<12} {'records':>8} {'sync rec/s':>11} {'raw rec/s':>10} {'sync/raw':>9}"
            "   list calls per source (the keyset walk's fewest)"
        )
        for entity in ("customers", "products"):
            by_source, raw_seconds = await _raw_listing(proxy_url, entity)
            raw_records = sum(by_source.values())
            await sim.post("/_sim/counters/reset", json={})
            run, seconds = await _sync(executor, pool, entity)
            lists = await _list_calls(sim)
            assert run["processed_items"] == raw_records
            sync_rate, raw_rate = raw_records / seconds, raw_records / raw_seconds
            spent = ", ".join(
                f"{source} {lists.get(source, 0)} ({keyset_list_calls(n)})"
                for source, n in by_source.items()
            )
            say(
                f"{entity:<12} {raw_records:>8} {sync_rate:>11.0f} {raw_rate:>10.0f} "
                f"{sync_rate / raw_rate:>9.2f}   {spent}"
            )
            results.add(
                SECTION,
                f"records/s: full sync ÷ the same listing writing nothing, {entity}",
                sync_rate / raw_rate,
                "ratio",
            )
            for source, n in by_source.items():
                results.add(
                    SECTION,
                    f"list calls ÷ the keyset walk's fewest, {entity} from {source}",
                    lists.get(source, 0) / keyset_list_calls(n),
                    "ratio",
                    target="<= 1.0",
                    better="lower",
                )
        say("")
        say(f"{'run':<34} {'records':>8} {'api calls':>10} {'per 1,000':>10} {'rec/s':>8}")
        for label, entity in (
            ("invoices, first full (details)", "invoices"),
            ("invoices, repeat full (unchanged)", "invoices"),
            ("stock (itemdetails)", "stock"),
        ):
            run, seconds = await _sync(executor, pool, entity)
            records, calls = run["processed_items"], run["api_calls"]
            say(
                f"{label:<34} {records:>8} {calls:>10} {1000 * calls / records:>10.1f} "
                f"{records / seconds:>8.0f}"
            )
    await pool.close()


def run_bench(results: Results) -> None:
    scale = int(os.environ.get("BENCH_BULK_SYNC_SCALE", "2000"))
    refresh = unique_refresh_token()
    org = OrgSettings(organization_id=ORG, daily_quota=10**7)
    sim = sim_settings(refresh, [org], scale=scale, limits=LimitSettings(per_minute=10**6))
    # The first full sync of invoices reads one detail per document, one call after another:
    # its calls per 1,000 records are the same at a quarter of the scale, in a quarter of the time.
    sim = sim.model_copy(update={"scale": {"invoices": max(1, scale // INVOICE_SCALE_DIVISOR)}})
    with (
        scratch_database(os.environ["TDS_BENCH_DATABASE_URL"]) as database_url,
        run_in_thread(sim) as sim_url,
    ):
        settings = proxy_settings(
            database_url,
            sim_url,
            zoho_refresh_token=refresh,
            zoho_organization_id=ORG,
            per_minute_limit=10**6,
            daily_limit=10**7,
            log_json=False,
        )
        with serve_app_in_thread(create_proxy_app(settings)) as proxy_url:
            results.say(
                SECTION,
                f"scale {scale} records per entity "
                f"({scale // INVOICE_SCALE_DIVISOR} invoices); Zoho's limits lifted in "
                "sim and proxy (this measures our cost, not Zoho's 100 calls/minute)",
            )
            asyncio.run(_bench(results, database_url, sim_url, proxy_url))


def main() -> None:
    run_bench(Results())
