"""The write-back's proxy client: what each answer of zoho-proxy becomes (MockTransport)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bulk_sync.writeback.client import WriteClient, WriteSetupError
from bulk_sync.writeback.shapes import ZohoRejection
from tds_common.errors import UpstreamRateLimitedError, UpstreamUnavailableError
from tds_common.proxy_client import ProxyClient, ProxyUnavailableError

ORG = "60000000001"


def client(handler: Callable[[httpx.Request], httpx.Response]) -> WriteClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://proxy")
    return WriteClient(ProxyClient(http))


def answer(status: int, body: Any, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body, headers=headers)


async def test_a_create_sends_zoho_json_on_the_write_lane() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"code": 0, "message": "created", "invoice": {"a": 1}})

    body = await client(handler).send(ORG, "invoices", "POST", None, {"customer_id": "1"})
    assert not isinstance(body, ZohoRejection) and body["invoice"] == {"a": 1}
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", "/zoho/books/invoices")
    assert request.headers["x-tds-lane"] == "write" and request.headers["x-tds-org"] == ORG
    assert request.content == b'{"customer_id": "1"}'
    assert request.headers["content-type"] == "application/json"


async def test_zoho_refusals_are_rejections_with_code_and_message() -> None:
    refused = answer(400, {"code": 2, "message": "Invalid value passed for customer_id"})
    result = await client(refused).send(ORG, "invoices", "PUT", "9", {"x": 1})
    assert result == ZohoRejection(400, 2, "Invalid value passed for customer_id")
    gone = answer(404, {"code": 1002, "message": "Invoice does not exist."})
    rejection = await client(gone).send(ORG, "invoices", "DELETE", "9", None)
    assert isinstance(rejection, ZohoRejection) and rejection.not_found


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (
            answer(429, {"error_code": "budget_exhausted"}, **{"Retry-After": "7"}),
            UpstreamRateLimitedError,
        ),
        (answer(502, {"error_code": "zoho_unavailable"}), UpstreamUnavailableError),
        (lambda request: httpx.Response(200, content=b"not json"), UpstreamUnavailableError),
        (answer(403, {"error_code": "zoho_scope_missing", "message": "scope"}), WriteSetupError),
    ],
)
async def test_unknown_outcomes_are_transient_and_proxy_refusals_are_setup_errors(
    handler: Callable[[httpx.Request], httpx.Response], error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        await client(handler).send(ORG, "customers", "POST", None, {"contact_name": "x"})
    if isinstance(caught.value, UpstreamRateLimitedError):
        assert caught.value.retry_after_seconds == 7


async def test_a_429_says_its_retry_after_or_leaves_the_wait_to_the_relay() -> None:
    """zoho-proxy's 429 is read the shared way: no guessed wait when it names none (the relay
    backs off), and a 503 is the proxy serving nobody now."""
    for headers, seconds in (({"Retry-After": "7"}, 7.0), ({}, None)):
        limited = answer(429, {"error_code": "budget_exhausted", "message": "later"}, **headers)
        with pytest.raises(UpstreamRateLimitedError) as caught:
            await client(limited).send(ORG, "customers", "POST", None, {"contact_name": "x"})
        assert caught.value.retry_after_seconds == seconds
    unavailable = answer(503, {"error_code": "zoho_unavailable", "message": "down"})
    with pytest.raises(ProxyUnavailableError, match="HTTP 503 zoho_unavailable to POST"):
        await client(unavailable).send(ORG, "customers", "POST", None, {"contact_name": "x"})


async def test_a_network_error_is_an_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(UpstreamUnavailableError):
        await client(handler).send(ORG, "customers", "POST", None, {"contact_name": "x"})


async def test_read_and_find() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/customers/404":
            return httpx.Response(404, json={"error_code": "not_found", "message": "no"})
        if request.url.path.startswith("/v1/customers/"):
            return httpx.Response(200, json={"record": {"contact_id": "7"}})
        key = request.url.params["cf_tds_key"]
        other = {"contact_id": "6", "custom_fields": []}
        mine = {"contact_id": "7", "custom_field_hash": {"cf_tds_key": key}}
        found = {
            "none": [],
            "one": [other, mine],
            "two": [mine, {**mine, "contact_id": "8"}],
            "blind": [{"contact_id": "9"}],
        }[key]
        return httpx.Response(200, json={"code": 0, "contacts": found})

    writes = client(handler)
    assert await writes.read(ORG, "customers", "404") is None
    assert await writes.find(ORG, "customers", "cf_tds_key", "none") is None
    # a record listed that does not carry the key (a search Zoho ignored) is not ours
    assert await writes.find(ORG, "customers", "cf_tds_key", "one") == {"contact_id": "7"}
    with pytest.raises(WriteSetupError, match="not unique"):
        await writes.find(ORG, "customers", "cf_tds_key", "two")
    with pytest.raises(WriteSetupError, match="cannot tell"):
        await writes.find(ORG, "customers", "cf_tds_key", "blind")
