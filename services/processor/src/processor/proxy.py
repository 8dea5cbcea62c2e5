"""Reads through zoho-proxy on the webhook lane, to complete thin events.

The shared client (:mod:`tds_common.proxy_client`) reads the proxy's answers; this module is
the processor's policy about what each failure costs a record:

- the record → returned; the proxy's ``not_found`` → ``None`` (the event becomes a delete);
- :class:`~tds_common.proxy_client.ProxyRateLimitedError` (429) passes through: the budget is
  spent for now, wait its ``Retry-After`` and count nothing;
- :class:`~tds_common.proxy_client.ProxyUnavailableError` (refused, timeout, 503) →
  :class:`ProxyWaitError`: the record's partition waits, counting nothing;
- a 401: zoho-proxy refuses the processor's own service token. Every record would fail the same
  way until the Secret is fixed, so this waits too (the backoff alert tells someone) instead of
  sending the whole stream to the dead-letter topic;
- :class:`~tds_common.proxy_client.ProxyCallFailedError` (other 5xx, 403/404/408/409/425, an
  answer off the contract) → :class:`ProxyRecordError`: tried again a bounded number of times.
  A 403 is about this record: a Zoho scope the refresh token lacks for its module, or an org
  this token may not read; parked records are replayed once a human fixes it;
- other 4xx stay :class:`~tds_common.errors.UpstreamRejectedError`: a dead letter.
"""

from __future__ import annotations

from typing import Any, Final

from processor.errors import ProxyRecordError, ProxyWaitError
from tds_common.proxy_client import (
    Lane,
    ProxyCallFailedError,
    ProxyClient,
    ProxyRefusedError,
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
        except ProxyRefusedError as exc:
            if exc.status_code != 401:
                raise ProxyRecordError(f"{exc} ({entity} {zoho_id})") from exc
            raise ProxyWaitError(
                f"{exc}: check PROCESSOR_PROXY__TOKEN against ZOHO_PROXY_CLIENT_TOKENS"
            ) from exc
        except ProxyCallFailedError as exc:
            raise ProxyRecordError(f"{exc} ({entity} {zoho_id})") from exc
        return None if answer is None else answer.record
