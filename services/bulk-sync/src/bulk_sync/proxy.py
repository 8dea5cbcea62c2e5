"""Reads through zoho-proxy, the only way to Zoho, patiently.

- ``GET /v1/{entity}`` (a page of summaries, lane ``bulk``), ``GET /v1/{entity}/{id}`` (one
  detail), ``GET /zoho/inventory/itemdetails?item_ids=`` (stock per warehouse, many items in one
  call), always with ``X-TDS-Org`` and ``X-TDS-Lane``.
- The proxy's 429 means "Zoho's budget is spent for now": wait its ``Retry-After`` and ask again,
  for as long as it takes (never hammer). 5xx, timeouts and refused connections are retried with
  jittered exponential backoff, up to ``max_consecutive_failures`` in a row. Other 4xx are
  :class:`UpstreamRejectedError` (the run fails with the message).
- Every wait ends early when the worker is stopping: :class:`StopRequested`, and the run resumes
  from its checkpoint later.

httpx errors stop here. ``calls`` counts the calls that reached Zoho (2xx and 404 answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from typing import Any, Final

import httpx

from bulk_sync import metrics
from bulk_sync.settings import ProxySettings
from tds_common.errors import (
    PermanentError,
    ServiceError,
    UpstreamRejectedError,
)
from tds_common.proxy_http import NOT_FOUND, error_code

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_SECONDS: Final = 5.0
MAX_RETRY_AFTER_SECONDS: Final = 3600.0


class StopRequested(ServiceError):
    """The worker is shutting down; the run stays ``running`` and resumes from its checkpoint."""

    error_code = "stopping"


class ProxyGaveUpError(PermanentError):
    """zoho-proxy kept failing ``max_consecutive_failures`` times in a row: the run fails."""

    http_status = 503
    error_code = "proxy_unavailable"


class IncompleteListError(PermanentError):
    """A list answer that cannot say whether the list goes on: the run fails, deleting nothing."""

    http_status = 502
    error_code = "incomplete_list"


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    has_more: bool
    source: str


class ProxyClient:
    """One per worker; ``stop`` is the worker's stop event."""

    def __init__(
        self, client: httpx.AsyncClient, settings: ProxySettings, stop: asyncio.Event
    ) -> None:
        self._client = client
        self._settings = settings
        self._stop = stop
        self.calls = 0

    async def list_page(
        self, entity: str, org_id: str, params: dict[str, str], lane: str, *, paged: bool = True
    ) -> Page:
        """One page. ``paged``: the list must say whether more pages follow; an answer without
        ``page_context.has_more_page`` is an error, never the end of the list (a full run's
        sweep would delete everything after it). Unpaginated lists (warehouses) have none."""
        body = await self._get(f"/v1/{entity}", org_id, lane, params, kind="list", entity=entity)
        if body is None:
            raise UpstreamRejectedError(f"zoho-proxy has no list of {entity}", status_code=404)
        records = body.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ProxyGaveUpError("zoho-proxy answered a page without records")
        has_more = False
        if paged:
            context = body.get("page_context")
            more = context.get("has_more_page") if isinstance(context, dict) else None
            if not isinstance(more, bool):
                raise IncompleteListError(
                    f"Zoho answered a page of {entity} without page_context.has_more_page: "
                    "whether the list ends there is unknown"
                )
            has_more = more
        return Page(records, has_more, str(body.get("source") or "books"))

    async def get_record(
        self, entity: str, org_id: str, zoho_id: str, lane: str
    ) -> tuple[dict[str, Any], str] | None:
        """The full record and its source, or None when Zoho does not have it."""
        body = await self._get(
            f"/v1/{entity}/{zoho_id}", org_id, lane, {}, kind="detail", entity=entity
        )
        if body is None:
            return None
        record = body.get("record")
        if not isinstance(record, dict):
            raise ProxyGaveUpError("zoho-proxy answered a detail without a record")
        return record, str(body.get("source") or "books")

    async def item_details(
        self, org_id: str, item_ids: list[str], lane: str
    ) -> list[dict[str, Any]]:
        """Inventory item details (with ``warehouses[]``) of the items that exist."""
        body = await self._get(
            "/zoho/inventory/itemdetails",
            org_id,
            lane,
            {"item_ids": ",".join(item_ids)},
            kind="itemdetails",
            entity="stock",
        )
        items = (body or {}).get("items")
        if not isinstance(items, list):
            raise ProxyGaveUpError("Zoho itemdetails answered without items")
        return [item for item in items if isinstance(item, dict)]

    async def bulk_share_left(self, org_id: str, product: str) -> int | None:
        """Calls the bulk lane may still spend today on ``product`` (``GET /api/zoho/budget``:
        what is left of the day above the reserve kept for live traffic). None: the proxy has
        no budget row for it yet (nothing spent today), or its answer lacks the figures."""
        response = await self._client.get("/api/zoho/budget")
        response.raise_for_status()
        for row in response.json().get("budgets") or ():
            if row.get("organization_id") == org_id and row.get("product") == product:
                day = row.get("day") or {}
                left, reserve = day.get("left"), day.get("reserve")
                if isinstance(left, int) and isinstance(reserve, int):
                    return max(0, left - reserve)
        return None

    async def _get(
        self, path: str, org_id: str, lane: str, params: dict[str, str], *, kind: str, entity: str
    ) -> dict[str, Any] | None:
        headers = {"X-TDS-Org": org_id, "X-TDS-Lane": lane}
        failures = 0
        while True:
            if self._stop.is_set():
                raise StopRequested("stopping")
            try:
                response = await self._client.get(path, params=params, headers=headers)
            except httpx.TransportError as exc:
                failures = await self._failed(failures, f"unreachable: {type(exc).__name__}")
                continue
            status = response.status_code
            if status == 429:
                await self._wait(_retry_after(response))
                continue
            if status >= 500 or status in (401, 403, 408):
                failures = await self._failed(failures, f"HTTP {status}")
                continue
            if status == 404 or status < 300:
                self.calls += 1
                metrics.API_CALLS.labels(entity, kind).inc()
            if status == 404:
                if error_code(response) != NOT_FOUND:
                    # Only the proxy's verdict "Zoho does not have it" (code 1002) means gone;
                    # any other 404 (a wrong URL, an unknown route) must never delete a row.
                    raise UpstreamRejectedError(
                        f"zoho-proxy answered GET {path} 404 without not_found",
                        status_code=status, body=response.text,
                    )  # fmt: skip
                return None
            if status >= 400:
                raise UpstreamRejectedError(
                    f"zoho-proxy rejected GET {path}", status_code=status, body=response.text
                )
            try:
                body = response.json()
            except ValueError:
                failures = await self._failed(failures, "answer is not JSON")
                continue
            if not isinstance(body, dict):
                failures = await self._failed(failures, "answer is not an object")
                continue
            return body

    async def _failed(self, failures: int, reason: str) -> int:
        failures += 1
        s = self._settings
        if failures >= s.max_consecutive_failures:
            raise ProxyGaveUpError(f"zoho-proxy failed {failures} times in a row (last: {reason})")
        bound = min(s.retry_max_seconds, s.retry_initial_seconds * 2 ** (failures - 1))
        delay = random.uniform(bound / 2, bound)  # jitter, not crypto
        logger.warning("zoho-proxy call failed (%s); retrying in %.1fs", reason, delay)
        await self._wait(delay)
        return failures

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        if self._stop.is_set():
            raise StopRequested("stopping")


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return min(MAX_RETRY_AFTER_SECONDS, max(0.1, float(raw)))
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS
