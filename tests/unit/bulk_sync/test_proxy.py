"""The proxy client's patience: 429 waits, 5xx backs off then gives up, stop interrupts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from bulk_sync.proxy import ProxyGaveUpError, ProxyRefusedRunError, StopRequested, SyncProxy
from bulk_sync.settings import ProxySettings
from tds_common.errors import PermanentError, UpstreamRejectedError
from tds_common.proxy_client import ProxyClient

Handler = Callable[[httpx.Request], httpx.Response]
TOKEN = "bulk-sync-token-0123456789abcdef"


def _refusals(status: int) -> float:
    value = REGISTRY.get_sample_value("tds_bulk_sync_proxy_refusals_total", {"status": str(status)})
    return value or 0.0


PAGE = {
    "entity": "customers",
    "source": "books",
    "organization_id": "600",
    "records": [{"contact_id": "1"}],
    "page_context": {"has_more_page": True},
}


def client(handler: Handler, stop: asyncio.Event | None = None, failures: int = 3) -> SyncProxy:
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(handler),
        base_url="http://proxy",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    settings = ProxySettings(
        retry_initial_seconds=0.001, retry_max_seconds=0.002, max_consecutive_failures=failures
    )
    return SyncProxy(ProxyClient(http), settings, stop or asyncio.Event())


async def test_a_page_carries_org_and_lane_and_counts_one_call() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PAGE)

    proxy = client(handler)
    page = await proxy.list_page("customers", "600", {"page": "2"}, "bulk")
    assert page.records == PAGE["records"] and page.has_more and page.source == "books"
    assert seen[0].headers["X-TDS-Org"] == "600" and seen[0].headers["X-TDS-Lane"] == "bulk"
    assert seen[0].url.path == "/v1/customers" and seen[0].url.params["page"] == "2"
    assert proxy.calls == 1


async def test_budget_429_waits_retry_after_and_does_not_count_as_failure() -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "0.01"})] * 5
        + [httpx.Response(200, json=PAGE)]
    )
    proxy = client(lambda request: next(answers), failures=2)
    page = await proxy.list_page("customers", "600", {}, "bulk")
    assert page.records and proxy.calls == 1


async def test_a_429_without_retry_after_backs_off_like_every_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No fixed guess of its own (it waited 5 s): tds_common.backoff's pause, counting no
    failure (two failures would have given up here)."""
    waits: list[float] = []

    async def wait(self: SyncProxy, seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(SyncProxy, "_wait", wait)
    answers = iter([httpx.Response(429)] * 4 + [httpx.Response(200, json=PAGE)])
    proxy = client(lambda request: next(answers), failures=2)
    assert (await proxy.list_page("customers", "600", {}, "bulk")).records == PAGE["records"]
    assert len(waits) == 4 and all(0.0005 <= w <= 0.002 for w in waits), waits


async def test_transient_failures_are_retried_then_the_run_gives_up() -> None:
    answers = iter([httpx.Response(503), httpx.Response(502), httpx.Response(200, json=PAGE)])
    assert (await client(lambda r: next(answers)).list_page("customers", "1", {}, "bulk")).records

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(ProxyGaveUpError, match="3 times in a row"):
        await client(refused).list_page("customers", "1", {}, "bulk")


async def test_details_404_is_none_and_other_4xx_are_rejections() -> None:
    proxy = client(lambda r: httpx.Response(404, json={"error_code": "not_found"}))
    assert await proxy.get_record("invoices", "1", "42", "bulk") is None
    assert proxy.calls == 1
    bad = client(lambda r: httpx.Response(400, json={"message": "no"}))
    with pytest.raises(UpstreamRejectedError, match="HTTP 400"):
        await bad.get_record("invoices", "1", "42", "bulk")
    body = {
        "entity": "invoices",
        "source": "books",
        "organization_id": "1",
        "record": {"invoice_id": "42"},
    }
    found = client(lambda r: httpx.Response(200, json=body))
    assert await found.get_record("invoices", "1", "42", "bulk") == ({"invoice_id": "42"}, "books")


@pytest.mark.parametrize("status", [409, 425, 408])
async def test_conflicts_and_too_early_are_retried_like_every_caller_does(status: int) -> None:
    """The processor retries a 409/425 read; a run read the same answer as fatal (issue 15)."""
    answers = iter(
        [
            httpx.Response(status, json={"error_code": "x", "message": "not now"}),
            httpx.Response(200, json=PAGE),
        ]
    )
    proxy = client(lambda r: next(answers))
    assert (await proxy.list_page("customers", "600", {}, "bulk")).records == PAGE["records"]
    assert proxy.calls == 1


@pytest.mark.parametrize(
    ("status", "code", "hint"),
    [
        (401, "unauthenticated", "BULK_SYNC_PROXY__TOKEN"),
        (403, "writes_refused", "ZOHO_PROXY_WRITER_TOKENS"),
        (403, "zoho_scope_missing", "scope"),
    ],
)
async def test_our_own_proxy_refusing_us_fails_the_run_at_once(
    status: int, code: str, hint: str
) -> None:
    """Waiting never fixes a token or a scope: one call, then the run fails (no 30 retries)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"error_code": code, "message": "refused"})

    before = _refusals(status)
    with pytest.raises(ProxyRefusedRunError) as caught:
        await client(handler, failures=30).list_page("customers", "600", {}, "bulk")
    assert len(seen) == 1
    assert isinstance(caught.value, PermanentError)
    assert f"HTTP {status} {code}" in str(caught.value) and hint in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert _refusals(status) == before + 1


@pytest.mark.parametrize(
    ("status", "code"), [(503, "zoho_token_revoked"), (502, "zoho_server_error")]
)
async def test_zohos_own_auth_trouble_stays_transient(status: int, code: str) -> None:
    """Zoho refusing the proxy's token reaches us as the proxy's 503/502: retried, bounded."""
    answers = iter(
        [
            httpx.Response(status, json={"error_code": code, "message": "later"}),
            httpx.Response(200, json=PAGE),
        ]
    )
    proxy = client(lambda r: next(answers))
    assert (await proxy.list_page("customers", "600", {}, "bulk")).records == PAGE["records"]


async def test_item_details_asks_for_many_ids_in_one_call() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": 0, "items": [{"item_id": "1"}, "junk"]})

    items = await client(handler).item_details("1", ["1", "2"], "bulk")
    assert items == [{"item_id": "1"}]
    assert seen[0].url.path == "/zoho/inventory/itemdetails"
    assert seen[0].url.params["item_ids"] == "1,2"


async def test_stopping_interrupts_waits() -> None:
    stop = asyncio.Event()
    proxy = client(lambda r: httpx.Response(429, headers={"Retry-After": "30"}), stop)
    task = asyncio.create_task(proxy.list_page("customers", "1", {}, "bulk"))
    await asyncio.sleep(0.05)
    stop.set()
    with pytest.raises(StopRequested):
        await asyncio.wait_for(task, 5)


async def test_the_bulk_share_is_what_the_day_has_left_above_the_reserve() -> None:
    row: dict[str, Any] = {
        "organization_id": "600",
        "product": "books",
        "window_seconds": 60.0,
        "minute": {"limit": 100, "used": 0, "left": 100},
        "day": {
            "limit": 5000,
            "used": 4850,
            "left": 150,
            "reserve": 200,
            "resets_in_seconds": 10.0,
        },
        "in_flight": {"limit": 10, "used": 0, "left": 10},
        "waiting": {},
        "lanes_holding_back_lower": [],
    }
    body = {
        "budgets": [row, {**row, "product": "inventory", "day": {**row["day"], "left": 900}}],
        "lane_waits": {},
        "token": {"state": "ok", "last_error": None},
    }
    proxy = client(lambda r: httpx.Response(200, json=body))
    assert await proxy.bulk_share_left("600", "books") == 0
    assert await proxy.bulk_share_left("600", "inventory") == 700
    assert await proxy.bulk_share_left("601", "books") is None
