"""Reads through zoho-proxy on the webhook lane, to complete thin events.

``GET {ZOHO_PROXY_URL}/v1/{entity}/{id}`` with ``X-TDS-Org`` and ``X-TDS-Lane: webhook`` answers
``{"entity", "source", "organization_id", "record": {...}}``. httpx errors become ours here:

- 200 → the record; 404 → ``None`` (the record is gone in Zoho: the event becomes a delete);
- 429, 5xx, 401/403 (the proxy's own credentials), timeouts, refused connections →
  :class:`TransientError` (the batch waits and retries: never a dead letter);
- other 4xx → :class:`UpstreamRejectedError` (this record can never be read: a dead letter).
"""

from __future__ import annotations

import logging
from typing import Any, Final

import httpx

from tds_common.errors import (
    UpstreamRateLimitedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)

logger = logging.getLogger(__name__)

LANE: Final = "webhook"
_TRANSIENT_STATUSES: Final = frozenset({401, 403, 408, 409, 425, 429})


class ProxyClient:
    """One shared ``httpx.AsyncClient``; inject a transport in tests."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def fetch(self, entity: str, org_id: str, zoho_id: str) -> dict[str, Any] | None:
        """The current record, or ``None`` when Zoho no longer has it."""
        try:
            response = await self._client.get(
                f"/v1/{entity}/{zoho_id}", headers={"X-TDS-Org": org_id, "X-TDS-Lane": LANE}
            )
        except httpx.TransportError as exc:
            raise UpstreamUnavailableError(f"zoho-proxy unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if status == 404:
            return None
        if status == 429:
            retry_after = response.headers.get("Retry-After", "")
            raise UpstreamRateLimitedError(
                "zoho-proxy: budget spent",
                retry_after_seconds=float(retry_after) if retry_after.isdigit() else None,
            )
        if status >= 500 or status in _TRANSIENT_STATUSES:
            raise UpstreamUnavailableError(f"zoho-proxy answered HTTP {status}")
        if status >= 400:
            raise UpstreamRejectedError("zoho-proxy rejected the read", status_code=status,
                                        body=response.text)  # fmt: skip
        try:
            body = response.json()
            record = body["record"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamUnavailableError("zoho-proxy answered without a record") from exc
        if not isinstance(record, dict):
            raise UpstreamUnavailableError("zoho-proxy answered a record that is not an object")
        return record
