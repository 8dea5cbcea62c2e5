"""The write-back's calls through zoho-proxy, all on the ``write`` lane.

- Writes go through the pass-through (``POST /zoho/books/invoices``, ``PUT`` / ``DELETE
  /zoho/books/invoices/{id}``) with Zoho's JSON body; the proxy never retries a POST.
- Reads: ``GET /v1/{entity}/{id}`` (the current record; None when Zoho has none) and the
  list search by the idempotency key (``GET /zoho/books/invoices?reference_number=...``).

Answers become one of three things: Zoho's record, a :class:`~.shapes.ZohoRejection` (Zoho
refused: a 4xx in Zoho's envelope), or :class:`UpstreamUnavailableError` /
:class:`UpstreamRateLimitedError` (the outcome is unknown or not yet: the relay retries, and
re-checks a create before sending it again); 429 and 5xx are read by
:func:`tds_common.proxy_client.raise_for_status`, as every caller reads them. A proxy error of
our own making (400/401/403/404 with ``error_code``) is :class:`WriteSetupError`: retrying
cannot help. httpx errors stop here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import httpx

from bulk_sync.writeback.shapes import ZohoRejection, carried_value, spec_of
from tds_common.errors import PermanentError, UpstreamUnavailableError, truncate
from tds_common.proxy_client import (
    Lane,
    ProxyClient,
    error_code,
    is_not_found,
    json_object,
    raise_for_status,
)

LANE: Final[Lane] = "write"


class WriteSetupError(PermanentError):
    """zoho-proxy refused the call itself (bad organization, a scope missing, an unknown path)."""

    error_code = "write_setup"


class WriteClient:
    """One organization-agnostic client; every call names its organization."""

    def __init__(self, proxy: ProxyClient) -> None:
        self._proxy = proxy

    async def _call(
        self,
        method: str,
        url: str,
        org_id: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        if body is None:
            return await self._proxy.request(method, url, org_id, LANE, params=params)
        return await self._proxy.request(
            method,
            url,
            org_id,
            LANE,
            params=params,
            content=json.dumps(body).encode(),
            extra_headers={"Content-Type": "application/json"},
        )

    async def send(
        self,
        org_id: str,
        entity: str,
        method: str,
        zoho_id: str | None,
        body: Mapping[str, Any] | None,
    ) -> dict[str, Any] | ZohoRejection:
        """A create (no ``zoho_id``), update or delete: Zoho's answer body, or its refusal."""
        spec = spec_of(entity)
        url = f"/zoho/books{spec.path}" + (f"/{zoho_id}" if zoho_id else "")
        response = await self._call(method, url, org_id, body=body)
        return _answer(response)

    async def read(self, org_id: str, entity: str, zoho_id: str) -> dict[str, Any] | None:
        """Zoho's current record, or None when Zoho has no such record."""
        response = await self._call("GET", f"/v1/{entity}/{zoho_id}", org_id)
        if is_not_found(response):
            return None
        answer = _answer(response)
        if isinstance(answer, ZohoRejection):
            raise WriteSetupError(f"reading {entity} {zoho_id}: {answer.describe()}")
        record = answer.get("record")
        if not isinstance(record, dict):
            raise UpstreamUnavailableError("zoho-proxy's record answer has no record")
        return record

    async def find(self, org_id: str, entity: str, field: str, key: str) -> dict[str, Any] | None:
        """The record whose ``field`` holds ``key`` (the create's idempotency key), in full."""
        spec = spec_of(entity)
        response = await self._call("GET", f"/zoho/books{spec.path}", org_id, params={field: key})
        answer = _answer(response)
        if isinstance(answer, ZohoRejection):
            raise WriteSetupError(f"searching {entity} by {field}: {answer.describe()}")
        found = answer.get(spec.list_key)
        if not isinstance(found, list):
            raise UpstreamUnavailableError(f"Zoho's {entity} search has no {spec.list_key!r}")
        # Trust the record, not the search: a Zoho that ignored the parameter lists others.
        matches = [r for r in found if isinstance(r, dict) and carried_value(r, field) == key]
        if len(matches) > 1:
            raise WriteSetupError(f"{len(matches)} {entity} carry {field}={key!r}: not unique")
        if matches:
            return await self.read(org_id, entity, str(matches[0][spec.id_field]))
        if any(isinstance(r, dict) and carried_value(r, field) is None for r in found):
            raise WriteSetupError(
                f"Zoho's {entity} search by {field} answered records that do not show {field}: "
                "cannot tell whether the create was applied"
            )
        return None


def _answer(response: httpx.Response) -> dict[str, Any] | ZohoRejection:
    status = response.status_code
    what = f"{response.request.method} {response.request.url.path}"
    if status == 429 or status >= 500:  # budget spent for now, or the outcome is unknown
        raise_for_status(response, what)
    body = json_object(response, what)
    if error_code(response) is not None:  # the proxy's own refusal, not Zoho's
        raise WriteSetupError(f"zoho-proxy refused ({status}): {truncate(str(body))}")
    code = body.get("code", 0)
    if status >= 400 or code != 0:
        message = str(body.get("message", ""))
        return ZohoRejection(status, code if isinstance(code, int) else None, truncate(message))
    return body
