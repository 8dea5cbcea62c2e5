"""Reads through zoho-proxy on the webhook lane, to complete thin events.

``GET {ZOHO_PROXY_URL}/v1/{entity}/{id}`` with ``X-TDS-Org``, ``X-TDS-Lane: webhook`` and
``X-TDS-Timeout-Seconds`` (our own timeout, so the proxy stops waiting and retrying before we
give up, and never calls Zoho for a caller that has gone) answers
``{"entity", "source", "organization_id", "record": {...}}``. httpx errors become ours here:

- 200 → the record; 404 ``not_found`` → ``None`` (the record is gone in Zoho: the event becomes a
  delete); any other 404 (a wrong route, not a verdict on the record) counts as a failed read;
- 429 → :class:`UpstreamRateLimitedError` (the budget is spent for now: wait, count nothing);
- refused connections, timeouts, 503 (Zoho or its tokens unavailable for everyone) →
  :class:`ProxyWaitError` (the record's partition waits; count nothing);
- other 5xx, 401/403 (e.g. a scope the token lacks), 408/409/425, a body without a record →
  :class:`ProxyRecordError` (this record's read failed: tried again a bounded number of times);
- other 4xx → :class:`UpstreamRejectedError` (this record can never be read: a dead letter).
"""

from __future__ import annotations

import logging
from typing import Any, Final

import httpx

from processor.errors import ProxyRecordError, ProxyWaitError
from tds_common.errors import UpstreamRateLimitedError, UpstreamRejectedError
from tds_common.proxy_http import NOT_FOUND, TIMEOUT_HEADER, announced_timeout, error_code

logger = logging.getLogger(__name__)

LANE: Final = "webhook"
_RECORD_STATUSES: Final = frozenset({401, 403, 408, 409, 425})
_WAIT_STATUSES: Final = frozenset({503})


class ProxyClient:
    """One shared ``httpx.AsyncClient``; inject a transport in tests."""

    def __init__(self, client: httpx.AsyncClient, timeout_seconds: float) -> None:
        self._client = client
        self._announced_timeout = announced_timeout(timeout_seconds)

    async def fetch(self, entity: str, org_id: str, zoho_id: str) -> dict[str, Any] | None:
        """The current record, or ``None`` when Zoho no longer has it."""
        headers = {"X-TDS-Org": org_id, "X-TDS-Lane": LANE, TIMEOUT_HEADER: self._announced_timeout}
        try:
            response = await self._client.get(f"/v1/{entity}/{zoho_id}", headers=headers)
        except httpx.TransportError as exc:
            raise ProxyWaitError(f"zoho-proxy unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if status == 404 and error_code(response) == NOT_FOUND:
            return None
        if status == 429:
            retry_after = response.headers.get("Retry-After", "")
            raise UpstreamRateLimitedError(
                "zoho-proxy: budget spent",
                retry_after_seconds=float(retry_after) if retry_after.isdigit() else None,
            )
        if status in _WAIT_STATUSES:
            raise ProxyWaitError(f"zoho-proxy answered HTTP {status}")
        if status >= 500 or status in _RECORD_STATUSES or status == 404:
            raise ProxyRecordError(f"zoho-proxy answered HTTP {status} for {entity} {zoho_id}")
        if status >= 400:
            raise UpstreamRejectedError("zoho-proxy rejected the read", status_code=status,
                                        body=response.text)  # fmt: skip
        try:
            record = response.json()["record"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProxyRecordError("zoho-proxy answered without a record") from exc
        if not isinstance(record, dict):
            raise ProxyRecordError("zoho-proxy answered a record that is not an object")
        return record
