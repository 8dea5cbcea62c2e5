"""zoho-proxy reads: which answers are records, deletes, transient or permanent failures."""

from __future__ import annotations

import httpx
import pytest

from processor.proxy import ProxyClient
from tds_common.errors import (
    UpstreamRateLimitedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)


def _client(handler: httpx.MockTransport) -> ProxyClient:
    return ProxyClient(httpx.AsyncClient(transport=handler, base_url="http://proxy.test"))


async def test_a_record_is_read_on_the_webhook_lane() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"entity": "stock", "source": "inventory", "organization_id": "7",
                "record": {"item_id": "1"}}  # fmt: skip
        return httpx.Response(200, json=body)

    record = await _client(httpx.MockTransport(handler)).fetch("stock", "7", "1")
    assert record == {"item_id": "1"}
    assert seen[0].url.path == "/v1/stock/1"
    assert seen[0].headers["X-TDS-Org"] == "7" and seen[0].headers["X-TDS-Lane"] == "webhook"


async def test_404_means_the_record_is_gone() -> None:
    client = _client(httpx.MockTransport(lambda r: httpx.Response(404)))
    assert await client.fetch("products", "7", "1") is None


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, UpstreamRateLimitedError), (503, UpstreamUnavailableError),
     (500, UpstreamUnavailableError), (401, UpstreamUnavailableError),
     (400, UpstreamRejectedError), (422, UpstreamRejectedError)],
)  # fmt: skip
async def test_statuses_map_to_transient_or_permanent_errors(status: int, error: type) -> None:
    client = _client(
        httpx.MockTransport(lambda r: httpx.Response(status, headers={"Retry-After": "4"}))
    )
    with pytest.raises(error) as caught:
        await client.fetch("products", "7", "1")
    if status == 429:
        assert getattr(caught.value, "retry_after_seconds", None) == 4.0


async def test_unreachable_proxy_and_bodies_without_a_record_are_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(UpstreamUnavailableError, match="unreachable"):
        await _client(httpx.MockTransport(refuse)).fetch("products", "7", "1")
    no_record = httpx.MockTransport(lambda r: httpx.Response(200, json={"entity": "products"}))
    with pytest.raises(UpstreamUnavailableError, match="without a record"):
        await _client(no_record).fetch("products", "7", "1")
