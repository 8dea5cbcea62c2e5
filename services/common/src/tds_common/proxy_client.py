"""The zoho-proxy contract and the one client every caller uses (docs/architecture.md, "HTTP
surface").

zoho-proxy is the only way to Zoho. Its callers (the processor's thin-event reads, bulk-sync's
runs and write-back) share, from here:

- the request headers (:data:`ORG_HEADER`, :data:`LANE_HEADER`, :data:`TIMEOUT_HEADER`, the
  bearer token) and the :data:`Lane` type;
- the answer models (:class:`RecordAnswer`, :class:`PageAnswer`, :class:`ErrorAnswer`), which
  zoho-proxy declares as its routes' ``response_model``, so its OpenAPI is the contract;
- one reading of every status (:func:`raise_for_status`) and of ``Retry-After``
  (:func:`parse_retry_after`).

What each service does about an error (wait, count an attempt, fail a run) is its own retry
policy and stays in its ``proxy`` module. httpx errors stop here.

Status → error, the same for every caller:

==========================================  ===============================================
200                                         the answer, validated against its model
404 with ``error_code`` ``not_found``       ``None``: no Zoho source has the record
429                                         :class:`ProxyRateLimitedError` (its Retry-After)
503, refused connection, timeout            :class:`ProxyUnavailableError`: nobody is served
other 5xx; 404 (any other), 408, 409, 425;  :class:`ProxyCallFailedError`: this call failed
an answer off its model                     and may pass (a route deployed, a conflict gone):
                                            retried a bounded number of times
401, 403                                    :class:`ProxyRefusedError` (a ProxyCallFailedError):
                                            zoho-proxy refused the caller itself
any other 4xx                               :class:`UpstreamRejectedError`: never retried
==========================================  ===============================================

A 401/403 is zoho-proxy's own verdict on the caller (its token, what it may do, a Zoho scope
the refresh token lacks); Zoho refusing the proxy's token reaches callers as 502/503 instead.
Waiting does not fix a refusal; a caller that retries failed calls may still choose to.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal, TypeVar, get_args

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from tds_common.auth import bearer_headers
from tds_common.errors import (
    UpstreamRateLimitedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
    truncate,
)
from tds_common.settings import ProxyClientSettings
from tds_common.tracing import TracingTransport

Lane = Literal["webhook", "write", "incremental", "bulk"]
"""zoho-proxy's priority lanes, first served first (docs/architecture.md, "HTTP surface")."""
LANES: Final[tuple[Lane, ...]] = get_args(Lane)

ORG_HEADER: Final = "X-TDS-Org"
"""The Zoho organization a call is for."""
LANE_HEADER: Final = "X-TDS-Lane"
"""The caller's :data:`Lane`."""
TIMEOUT_HEADER: Final = "X-TDS-Timeout-Seconds"
"""How long the caller waits for this answer, in seconds. zoho-proxy stops waiting for budget
and stops retrying within that time, so it never keeps calling Zoho for a caller that has gone."""
TIMEOUT_HEADER_SLACK_SECONDS: Final = 0.5
"""Callers announce their timeout minus this, so the proxy's answer arrives before they give up."""
NOT_FOUND: Final = "not_found"
"""zoho-proxy's ``error_code`` for a record no Zoho source has. Only this 404 means "gone": a
404 without it (a wrong route, a proxy of another version) says nothing about the record."""

CALL_FAILED_STATUSES: Final = frozenset({404, 408, 409, 425})
"""4xx answers that say "not this time" rather than "never": the call may be tried again."""
REFUSED_STATUSES: Final = frozenset({401, 403})
"""zoho-proxy refused the caller itself: its token, or what the caller or the proxy may do."""
UNAVAILABLE_STATUSES: Final = frozenset({503})
"""zoho-proxy serves nobody now (Zoho unreachable, no access token): every caller waits."""
MAX_RETRY_AFTER_SECONDS: Final = 3600.0
"""A longer ``Retry-After`` is read as this: a mistaken header must not park a caller for days."""


class ProxyUnavailableError(UpstreamUnavailableError):
    """zoho-proxy unreachable, or it serves nobody now (503): wait, count nothing."""

    error_code = "proxy_unavailable"


class ProxyCallFailedError(UpstreamUnavailableError):
    """This call failed and may pass later: retry it a bounded number of times."""

    error_code = "proxy_call_failed"

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ProxyRefusedError(ProxyCallFailedError):
    """zoho-proxy refused the caller (401: its token; 403: what it may do, or a Zoho scope the
    refresh token lacks). Only an operator fixes it; it stays a failed call, so a caller that
    does not tell it apart retries it a bounded number of times."""

    error_code = "proxy_refused"

    def __init__(self, message: str, *, status_code: int, code: str | None) -> None:
        super().__init__(message, status_code=status_code)
        self.code = code
        """zoho-proxy's ``error_code`` (``unauthenticated``, ``writes_refused`` ...), if any."""


class ProxyRateLimitedError(UpstreamRateLimitedError):
    """zoho-proxy's 429: Zoho's budget is spent for now; ``retry_after_seconds`` when it said."""


class _Answer(BaseModel):
    # Newer proxies may add keys; older callers ignore them.
    model_config = ConfigDict(extra="ignore")


class ErrorAnswer(_Answer):
    """Every error zoho-proxy (and every TDS service) answers."""

    error_code: str
    message: str


class RecordAnswer(_Answer):
    """``GET /v1/{entity}/{id}``: one full record, unwrapped from Zoho's envelope."""

    entity: str
    source: str
    """The Zoho product that had it: ``books`` or ``inventory``."""
    organization_id: str
    record: dict[str, Any]


class PageAnswer(_Answer):
    """``GET /v1/{entity}``: one page of a list."""

    entity: str
    source: str
    organization_id: str
    records: list[dict[str, Any]]
    page_context: dict[str, Any] | None = None
    """Zoho's ``page_context`` as it came; ``None`` when Zoho sent none (never "last page")."""


_AnswerT = TypeVar("_AnswerT", bound=_Answer)


class UsedLeft(_Answer):
    """One limit: how much of it is used and left."""

    limit: int
    used: int
    left: int


class DayBudget(UsedLeft):
    reserve: int
    """Calls the bulk lane leaves to live traffic."""
    resets_in_seconds: float


class ProductBudget(_Answer):
    """One organization's budget on one Zoho product, as every replica sees it."""

    organization_id: str
    product: str
    minute: UsedLeft
    window_seconds: float
    day: DayBudget
    in_flight: UsedLeft
    waiting: dict[str, int]
    """Callers waiting per lane (this replica)."""
    lanes_holding_back_lower: list[str]


class BudgetAnswer(_Answer):
    """``GET /api/zoho/budget``."""

    budgets: list[ProductBudget]
    lane_waits: dict[str, dict[str, float]]
    """This replica's grants and mean wait per lane."""
    token: dict[str, str | None]
    """The access token's state and last error."""


def error_code(response: httpx.Response) -> str | None:
    """The ``error_code`` of a TDS error body, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error_code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110: delay-seconds or an HTTP-date),
    at most :data:`MAX_RETRY_AFTER_SECONDS`; ``None`` when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # RFC 850 / asctime forms carry no zone: they are GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER_SECONDS, max(0.0, seconds))


def raise_for_status(response: httpx.Response, what: str) -> None:
    """Raise the error the table above names for a non-2xx answer (404 ``not_found`` excepted:
    the caller checks :func:`is_not_found` first). ``what`` names the call in messages."""
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        raise ProxyRateLimitedError(
            f"zoho-proxy: budget spent ({what})",
            retry_after_seconds=parse_retry_after(response.headers.get("Retry-After")),
        )
    code = error_code(response)
    detail = f"zoho-proxy answered HTTP {status}" + (f" {code}" if code else "") + f" to {what}"
    if status in UNAVAILABLE_STATUSES:
        raise ProxyUnavailableError(detail)
    if status in REFUSED_STATUSES:
        raise ProxyRefusedError(detail, status_code=status, code=code)
    if status >= 500 or status in CALL_FAILED_STATUSES:
        raise ProxyCallFailedError(detail, status_code=status)
    raise UpstreamRejectedError(detail, status_code=status, body=response.text)


def json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The answer's JSON object; anything else is a failed call (an answer off the contract)."""
    try:
        body = response.json()
    except ValueError as exc:
        raise ProxyCallFailedError(f"zoho-proxy answered {what} without JSON") from exc
    if not isinstance(body, dict):
        raise ProxyCallFailedError(f"zoho-proxy answered {what} with a non-object")
    return body


def is_not_found(response: httpx.Response) -> bool:
    """zoho-proxy's verdict "no Zoho source has this record"."""
    return response.status_code == 404 and error_code(response) == NOT_FOUND


def announced_timeout(timeout_seconds: float) -> str:
    """The :data:`TIMEOUT_HEADER` value for a caller whose own timeout is ``timeout_seconds``."""
    return f"{max(0.1, timeout_seconds - TIMEOUT_HEADER_SLACK_SECONDS):.3f}"


def proxy_http_client(
    base_url: str,
    settings: ProxyClientSettings,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A client for ``base_url`` sending the caller's bearer token; ``transport`` replaces the
    network in tests. Each call is a client span whose context goes along in ``traceparent``."""
    traced = TracingTransport(transport or httpx.AsyncHTTPTransport(), "zoho-proxy")
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=settings.timeout_seconds,
        headers=bearer_headers(settings.token),
        transport=traced,
    )


class ProxyClient:
    """The calls every service makes to zoho-proxy, with its status mapping; no retries.

    One per process around a shared ``httpx.AsyncClient`` from :func:`proxy_http_client`.
    """

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        read_timeout = http.timeout.read
        self._announced_timeout = announced_timeout(read_timeout or 30.0)

    def headers(self, org_id: str, lane: Lane) -> dict[str, str]:
        """The headers of a call for ``org_id`` on ``lane`` (the token is on the client)."""
        return {ORG_HEADER: org_id, LANE_HEADER: lane, TIMEOUT_HEADER: self._announced_timeout}

    async def request(
        self,
        method: str,
        path: str,
        org_id: str,
        lane: Lane,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One call, answered as it came; a transport failure is :class:`ProxyUnavailableError`."""
        headers = self.headers(org_id, lane) | (extra_headers or {})
        try:
            return await self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TransportError as exc:
            raise ProxyUnavailableError(f"zoho-proxy unreachable: {type(exc).__name__}") from exc

    async def get_json(
        self, path: str, org_id: str, lane: Lane, params: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        """A ``GET``'s JSON object, or ``None`` for the proxy's ``not_found``."""
        response = await self.request("GET", path, org_id, lane, params=params)
        if is_not_found(response):
            return None
        raise_for_status(response, f"GET {path}")
        return json_object(response, f"GET {path}")

    async def get_record(
        self, entity: str, org_id: str, zoho_id: str, lane: Lane
    ) -> RecordAnswer | None:
        """``GET /v1/{entity}/{id}``: the record, or ``None`` when Zoho no longer has it."""
        body = await self.get_json(f"/v1/{entity}/{zoho_id}", org_id, lane)
        return None if body is None else _validated(RecordAnswer, body, f"{entity} {zoho_id}")

    async def list_page(
        self, entity: str, org_id: str, lane: Lane, params: dict[str, str]
    ) -> PageAnswer | None:
        """``GET /v1/{entity}``: one page, or ``None`` when no source lists the entity."""
        body = await self.get_json(f"/v1/{entity}", org_id, lane, params)
        return None if body is None else _validated(PageAnswer, body, f"a page of {entity}")

    async def budget(self) -> BudgetAnswer:
        """``GET /api/zoho/budget``: what is left of Zoho's limits, per organization."""
        try:
            response = await self._http.get("/api/zoho/budget")
        except httpx.TransportError as exc:
            raise ProxyUnavailableError(f"zoho-proxy unreachable: {type(exc).__name__}") from exc
        raise_for_status(response, "GET /api/zoho/budget")
        return _validated(BudgetAnswer, json_object(response, "its budget"), "its budget")


def _validated(model: type[_AnswerT], body: dict[str, Any], what: str) -> _AnswerT:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        # The errors name fields, never values: a record may hold customer data.
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        raise ProxyCallFailedError(
            f"zoho-proxy answered {what} off the contract ({truncate(fields)})"
        ) from exc
