"""The HTTP client services call zoho-proxy with.

zoho-proxy is the only way to Zoho (docs/architecture.md#services), and every caller needs the same
client: the proxy's base URL, the caller's own timeout and the bearer token when the proxy requires
one. What to call and how to retry stays with each service's own ``proxy`` module.
"""

from __future__ import annotations

import httpx

from tds_common.settings import ProxyClientSettings


def proxy_http_client(
    base_url: str,
    settings: ProxyClientSettings,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A client for ``base_url``; ``transport`` replaces the network in tests."""
    headers = {}
    if settings.token is not None:
        headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
    return httpx.AsyncClient(
        base_url=base_url, timeout=settings.timeout_seconds, headers=headers, transport=transport
    )
