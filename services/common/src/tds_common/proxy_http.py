"""The HTTP client services call zoho-proxy with.

zoho-proxy is the only way to Zoho (docs/architecture.md#services), and every caller needs the same
client: the proxy's base URL, the caller's own timeout and the bearer token when the proxy requires
one. What to call and how to retry stays with each service's own ``proxy`` module.
"""

from __future__ import annotations

from typing import Final

import httpx

from tds_common.settings import ProxyClientSettings
from tds_common.tracing import TracingTransport

TIMEOUT_HEADER: Final = "X-TDS-Timeout-Seconds"
"""How long the caller waits for this answer, in seconds. zoho-proxy stops waiting for budget
and stops retrying within that time, so it never keeps calling Zoho for a caller that has gone."""
TIMEOUT_HEADER_SLACK_SECONDS: Final = 0.5
"""Callers announce their timeout minus this, so the proxy's answer arrives before they give up."""
NOT_FOUND: Final = "not_found"
"""zoho-proxy's ``error_code`` for a record no Zoho source has. Only this 404 means "gone": a
404 without it (a wrong route, a proxy of another version) says nothing about the record."""


def error_code(response: httpx.Response) -> str | None:
    """The ``error_code`` of a zoho-proxy error body, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error_code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def announced_timeout(timeout_seconds: float) -> str:
    """The :data:`TIMEOUT_HEADER` value for a caller whose own timeout is ``timeout_seconds``."""
    return f"{max(0.1, timeout_seconds - TIMEOUT_HEADER_SLACK_SECONDS):.3f}"


def proxy_http_client(
    base_url: str,
    settings: ProxyClientSettings,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A client for ``base_url``; ``transport`` replaces the network in tests. Each call is a
    client span whose context goes along in ``traceparent``."""
    headers = {}
    if settings.token is not None:
        headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
    traced = TracingTransport(transport or httpx.AsyncHTTPTransport(), "zoho-proxy")
    return httpx.AsyncClient(
        base_url=base_url, timeout=settings.timeout_seconds, headers=headers, transport=traced
    )
