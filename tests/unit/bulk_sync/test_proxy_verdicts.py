"""What bulk-sync may conclude from the proxy's answers: only a proven end ends a list, only a
proven "does not exist" deletes a row."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bulk_sync.proxy import IncompleteListError, ProxyGaveUpError, SyncProxy
from bulk_sync.settings import ProxySettings
from tds_common.proxy_client import ProxyClient


def client(answer: httpx.Response) -> SyncProxy:
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: answer), base_url="http://proxy"
    )
    settings = ProxySettings(
        retry_initial_seconds=0.001, retry_max_seconds=0.002, max_consecutive_failures=2
    )
    return SyncProxy(ProxyClient(http), settings, asyncio.Event())


@pytest.mark.parametrize(
    "page_context",
    [None, {}, {"page": 3}, {"has_more_page": "false"}],
    ids=["null", "empty", "no-has-more", "string-flag"],
)
async def test_a_page_that_cannot_say_whether_more_follow_is_an_error_not_the_end(
    page_context: object,
) -> None:
    body = {
        "records": [{"contact_id": "1"}],
        "source": "books",
        "entity": "customers",
        "organization_id": "1",
        "page_context": page_context,
    }
    with pytest.raises(IncompleteListError, match=r"without page_context\.has_more_page"):
        await client(httpx.Response(200, json=body)).list_page("customers", "1", {}, "bulk")


async def test_a_page_without_page_context_at_all_is_an_error() -> None:
    body = {"records": [], "source": "books", "entity": "customers", "organization_id": "1"}
    with pytest.raises(IncompleteListError):
        await client(httpx.Response(200, json=body)).list_page("customers", "1", {}, "bulk")


async def test_the_last_page_says_so_and_unpaginated_lists_need_no_context() -> None:
    last = {
        "records": [],
        "source": "books",
        "entity": "customers",
        "organization_id": "1",
        "page_context": {"has_more_page": False},
    }
    page = await client(httpx.Response(200, json=last)).list_page("customers", "1", {}, "bulk")
    assert page.has_more is False
    flat = {
        "records": [{"warehouse_id": "1"}],
        "source": "inventory",
        "entity": "warehouses",
        "organization_id": "1",
        "page_context": None,
    }
    page = await client(httpx.Response(200, json=flat)).list_page(
        "warehouses", "1", {}, "bulk", paged=False
    )
    assert page.records == [{"warehouse_id": "1"}] and not page.has_more


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404, json={"error_code": "upstream_rejected", "message": "Invalid URL"}),
        httpx.Response(404, json={"detail": "Not Found"}),  # a route the proxy does not have
        httpx.Response(404, text="<html>not found</html>"),
    ],
    ids=["other-code", "no-code", "not-json"],
)
async def test_only_the_proxys_not_found_verdict_means_gone(answer: httpx.Response) -> None:
    # Not a verdict: retried like any failed call, then the run fails; nothing is deleted.
    with pytest.raises(ProxyGaveUpError, match="404"):
        await client(answer).get_record("invoices", "1", "42", "bulk")
    gone = httpx.Response(404, json={"error_code": "not_found", "message": "not in Zoho"})
    assert await client(gone).get_record("invoices", "1", "42", "bulk") is None
