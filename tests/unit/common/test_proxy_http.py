"""tds_common.proxy_http: the client services call zoho-proxy with."""

from __future__ import annotations

import httpx

from tds_common.proxy_http import proxy_http_client
from tds_common.settings import ProxyClientSettings


async def test_sends_the_bearer_token_only_when_configured() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    transport = httpx.MockTransport(handler)
    with_token = ProxyClientSettings(timeout_seconds=7.0, token="proxy-token")
    async with proxy_http_client("http://proxy.test", with_token, transport) as client:
        assert client.timeout == httpx.Timeout(7.0)
        await client.get("/v1/items/1")
    async with proxy_http_client("http://proxy.test", ProxyClientSettings(), transport) as client:
        await client.get("/v1/items/2")
    assert str(seen[0].url) == "http://proxy.test/v1/items/1"
    assert seen[0].headers["Authorization"] == "Bearer proxy-token"
    assert "Authorization" not in seen[1].headers


def test_the_token_stays_secret_in_settings() -> None:
    settings = ProxyClientSettings(token="proxy-token")
    assert "proxy-token" not in repr(settings)
