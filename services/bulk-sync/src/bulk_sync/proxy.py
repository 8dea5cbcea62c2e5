"""Reads through zoho-proxy, the only way to Zoho, patiently: bulk-sync's retry policy.

- ``GET /v1/{entity}`` (a page of summaries), ``GET /v1/{entity}/{id}`` (one detail),
  ``GET /zoho/inventory/itemdetails?item_ids=`` (stock per warehouse, many items in one call),
  through the shared client (:mod:`tds_common.proxy_client`), which reads every answer the way
  every service does.
- :class:`~tds_common.proxy_client.ProxyRateLimitedError` (the proxy's 429: Zoho's budget is
  spent for now): wait its ``Retry-After`` (without one: back off as below) and ask again, for
  as long as it takes (never hammer).
- :class:`~tds_common.proxy_client.ProxyRefusedError` (the proxy's own 401/403: our token,
  what we may do, a Zoho scope missing) is :class:`ProxyRefusedRunError` at once: waiting never
  fixes it, an operator does, so the run fails with a message that says what to check (and
  ``tds_bulk_sync_proxy_refusals_total{status}``). Zoho refusing the proxy's token reaches us as
  the proxy's 503/502: transient, below.
- :class:`~tds_common.proxy_client.ProxyUnavailableError` and
  :class:`~tds_common.proxy_client.ProxyCallFailedError` (5xx, timeouts, refused connections,
  404/408/409/425, answers off the contract) are retried after
  :func:`tds_common.backoff.backoff_seconds`, up to ``max_consecutive_failures`` in a row, then
  :class:`ProxyGaveUpError`. Other 4xx are :class:`~tds_common.errors.UpstreamRejectedError`
  (the run fails with the message).
- Every wait ends early when the worker is stopping: :class:`StopRequested`, and the run resumes
  from its checkpoint later.

``calls`` counts the calls that reached Zoho (answers and the proxy's ``not_found``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from bulk_sync import metrics
from bulk_sync.settings import ProxySettings
from tds_common.backoff import backoff_seconds, sleep_unless_stopping
from tds_common.errors import PermanentError, ServiceError, UpstreamRejectedError
from tds_common.proxy_client import (
    Lane,
    ProxyCallFailedError,
    ProxyClient,
    ProxyRateLimitedError,
    ProxyRefusedError,
    ProxyUnavailableError,
)

logger = logging.getLogger(__name__)

MIN_RETRY_AFTER_SECONDS: Final = 0.1

_T = TypeVar("_T")


class StopRequested(ServiceError):
    """The worker is shutting down; the run stays ``running`` and resumes from its checkpoint."""

    error_code = "stopping"


class ProxyGaveUpError(PermanentError):
    """zoho-proxy kept failing ``max_consecutive_failures`` times in a row: the run fails."""

    http_status = 503
    error_code = "proxy_unavailable"


class ProxyRefusedRunError(PermanentError):
    """zoho-proxy refused bulk-sync itself (401/403): the run fails at once."""

    http_status = 503
    error_code = "proxy_refused"


_REFUSAL_HINTS: Final = {
    "unauthenticated": "BULK_SYNC_PROXY__TOKEN must be one of zoho-proxy's "
    "ZOHO_PROXY_WRITER_TOKENS",
    "writes_refused": "BULK_SYNC_PROXY__TOKEN must be one of ZOHO_PROXY_WRITER_TOKENS",
    "zoho_scope_missing": "the Zoho refresh token lacks the OAuth scope of this call: an "
    "operator must issue one that has it",
}
"""What to check, by zoho-proxy's ``error_code``; any other refusal names the proxy's settings."""


def _refused(exc: ProxyRefusedError) -> ProxyRefusedRunError:
    hint = _REFUSAL_HINTS.get(exc.code or "", "check bulk-sync's token and zoho-proxy's settings")
    metrics.PROXY_REFUSALS.labels(str(exc.status_code)).inc()
    return ProxyRefusedRunError(f"{exc}: waiting cannot fix this; {hint}")


class IncompleteListError(PermanentError):
    """A list answer that cannot say whether the list goes on: the run fails, deleting nothing."""

    http_status = 502
    error_code = "incomplete_list"


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    has_more: bool
    source: str


class SyncProxy:
    """One per worker; ``stop`` is the worker's stop event."""

    def __init__(self, proxy: ProxyClient, settings: ProxySettings, stop: asyncio.Event) -> None:
        self._proxy = proxy
        self._settings = settings
        self._stop = stop
        self.calls = 0

    async def list_page(
        self, entity: str, org_id: str, params: dict[str, str], lane: Lane, *, paged: bool = True
    ) -> Page:
        """One page. ``paged``: the list must say whether more pages follow; an answer without
        ``page_context.has_more_page`` is an error, never the end of the list (a full run's
        sweep would delete everything after it). Unpaginated lists (warehouses) have none."""
        page = await self._patiently(
            lambda: self._proxy.list_page(entity, org_id, lane, params), entity, "list"
        )
        if page is None:
            raise UpstreamRejectedError(f"zoho-proxy has no list of {entity}", status_code=404)
        has_more = False
        if paged:
            context = page.page_context
            more = context.get("has_more_page") if isinstance(context, dict) else None
            if not isinstance(more, bool):
                raise IncompleteListError(
                    f"Zoho answered a page of {entity} without page_context.has_more_page: "
                    "whether the list ends there is unknown"
                )
            has_more = more
        return Page(page.records, has_more, page.source)

    async def get_record(
        self, entity: str, org_id: str, zoho_id: str, lane: Lane
    ) -> tuple[dict[str, Any], str] | None:
        """The full record and its source, or None when Zoho does not have it."""
        answer = await self._patiently(
            lambda: self._proxy.get_record(entity, org_id, zoho_id, lane), entity, "detail"
        )
        return None if answer is None else (answer.record, answer.source)

    async def item_details(
        self, org_id: str, item_ids: list[str], lane: Lane
    ) -> list[dict[str, Any]]:
        """Inventory item details (with ``warehouses[]``) of the items that exist."""
        params = {"item_ids": ",".join(item_ids)}
        body = await self._patiently(
            lambda: self._proxy.get_json("/zoho/inventory/itemdetails", org_id, lane, params),
            "stock",
            "itemdetails",
        )
        items = (body or {}).get("items")
        if not isinstance(items, list):
            raise ProxyGaveUpError("Zoho itemdetails answered without items")
        return [item for item in items if isinstance(item, dict)]

    async def bulk_share_left(self, org_id: str, product: str) -> int | None:
        """Calls the bulk lane may still spend today on ``product`` (``GET /api/zoho/budget``:
        what is left of the day above the reserve kept for live traffic). None: the proxy has
        no budget row for it yet (nothing spent today), or its answer lacks the figures."""
        answer = await self._proxy.budget()
        for row in answer.budgets:
            if row.organization_id == org_id and row.product == product:
                return max(0, row.day.left - row.day.reserve)
        return None

    async def _patiently(self, call: Callable[[], Awaitable[_T]], entity: str, kind: str) -> _T:
        """``call`` until it answers: 429s wait, failures back off (bounded), stop interrupts."""
        failures = limited = 0
        while True:
            if self._stop.is_set():
                raise StopRequested("stopping")
            try:
                answer = await call()
            except ProxyRateLimitedError as exc:
                limited += 1
                await self._wait(self._rate_limited_wait(exc.retry_after_seconds, limited))
                continue
            except ProxyRefusedError as exc:
                raise _refused(exc) from exc
            except (ProxyUnavailableError, ProxyCallFailedError) as exc:
                failures = await self._failed(failures, str(exc))
                continue
            self.calls += 1
            metrics.API_CALLS.labels(entity, kind).inc()
            return answer

    def _rate_limited_wait(self, said: float | None, times: int) -> float:
        """The 429's ``Retry-After``; without one, the backoff of a failure (counting none)."""
        if said is None:
            s = self._settings
            return backoff_seconds(times, s.retry_initial_seconds, s.retry_max_seconds)
        return max(MIN_RETRY_AFTER_SECONDS, said)

    async def _failed(self, failures: int, reason: str) -> int:
        failures += 1
        s = self._settings
        if failures >= s.max_consecutive_failures:
            raise ProxyGaveUpError(f"zoho-proxy failed {failures} times in a row (last: {reason})")
        delay = backoff_seconds(failures, s.retry_initial_seconds, s.retry_max_seconds)
        logger.warning("zoho-proxy call failed (%s); retrying in %.1fs", reason, delay)
        await self._wait(delay)
        return failures

    async def _wait(self, seconds: float) -> None:
        if await sleep_unless_stopping(self._stop, seconds):
            raise StopRequested("stopping")
