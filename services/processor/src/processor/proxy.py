"""Reads through zoho-proxy on the webhook lane, to complete thin events.

The shared client (:mod:`tds_common.proxy_client`) reads the proxy's answers; this module is
the processor's policy about what each failure costs a record:

- the record → returned; the proxy's ``not_found`` → ``None`` (the event becomes a delete);
- :class:`~tds_common.proxy_client.ProxyRateLimitedError` (429) passes through: the budget is
  spent for now, wait its ``Retry-After`` and count nothing;
- :class:`~tds_common.proxy_client.ProxyUnavailableError` (refused, timeout, 503) →
  :class:`ProxyWaitError`: the record's partition waits, counting nothing;
- :class:`~tds_common.proxy_client.ProxyCallFailedError` (other 5xx, 401/403/404/408/409/425,
  an answer off the contract) → :class:`ProxyRecordError`: tried again a bounded number of times;
- other 4xx stay :class:`~tds_common.errors.UpstreamRejectedError`: a dead letter.
"""

from __future__ import annotations

from typing import Any, Final

from processor.errors import ProxyRecordError, ProxyWaitError
from tds_common.proxy_client import (
    Lane,
    ProxyCallFailedError,
    ProxyClient,
    ProxyUnavailableError,
)

LANE: Final[Lane] = "webhook"


class RecordFetcher:
    """Fetches the current record of a thin event; one per process."""

    def __init__(self, proxy: ProxyClient) -> None:
        self._proxy = proxy

    async def fetch(self, entity: str, org_id: str, zoho_id: str) -> dict[str, Any] | None:
        """The current record, or ``None`` when Zoho no longer has it."""
        try:
            answer = await self._proxy.get_record(entity, org_id, zoho_id, LANE)
        except ProxyUnavailableError as exc:
            raise ProxyWaitError(str(exc)) from exc
        except ProxyCallFailedError as exc:
            raise ProxyRecordError(f"{exc} ({entity} {zoho_id})") from exc
        return None if answer is None else answer.record
