"""The one HTTP client that calls the Zoho Books and Inventory APIs.

Every call: a token (:mod:`zoho_proxy.tokens`), a budget slot (:mod:`zoho_proxy.budget`), the
request with ``Authorization: Zoho-oauthtoken`` and ``organization_id``, an OpenTelemetry span
and metrics. Idempotent methods are retried with exponential backoff and jitter on 5xx, network
errors and Zoho's in-flight 429 (code 1070); every method gets one retry after a 401 with a
freshly minted token, unless the 401 is a missing OAuth scope (:mod:`zoho_proxy.scopes` tells
them apart), which becomes our 403. Zoho's 429s never reach our callers: they become our own 429.
httpx exceptions stop here and become :mod:`zoho_proxy.errors` classes.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Protocol

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
)
from tenacity.stop import stop_base

from tds_common.backoff import tenacity_wait
from tds_common.errors import TransientError
from zoho_proxy import metrics
from zoho_proxy.budget import Lease
from zoho_proxy.budget_rules import Lane
from zoho_proxy.deadline import seconds_left
from zoho_proxy.errors import (
    BadRequestError,
    BudgetExhaustedError,
    ZohoServerError,
    ZohoUnavailableError,
)
from zoho_proxy.scopes import CallKind, ScopeVerdicts, kind_of, scope_missing
from zoho_proxy.settings import Settings

logger = logging.getLogger(__name__)
tracer = trace.get_tracer("zoho_proxy.zoho")

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
UNAUTHORIZED_CODES: Final = frozenset({14, 57})
DEAD_TOKEN_OR_SCOPE_CODE: Final = 57
"""Zoho's code for a dead token and for a missing scope alike (docs/zoho-api.md, "Scopes")."""
INVALID_TOKEN_CODE: Final = 14
"""Zoho does not know the token (or the header is bad): never a scope, always a dead token."""
FORWARDED_REQUEST_HEADERS: Final = ("content-type", "accept", "x-zoho-include-formatted")
_PLAIN_SEGMENT: Final = re.compile(r"^[a-z_]{1,40}$")

Params = Sequence[tuple[str, str]]


class BudgetGate(Protocol):
    """What the client needs from the budget (:class:`zoho_proxy.budget.Budget`)."""

    async def acquire(self, org_id: str, product: str, lane: Lane) -> Lease: ...

    async def release(
        self,
        lease: Lease,
        *,
        headers: Mapping[str, str] | None = None,
        throttle_code: int | None = None,
        hold_in_flight: bool = False,
    ) -> None: ...


class TokenSource(Protocol):
    """What the client needs from the token manager (:class:`zoho_proxy.tokens.TokenManager`)."""

    async def get(self) -> str: ...

    async def invalidate(self, token: str, *, verified: bool = False) -> bool: ...

    def is_young(self, token: str) -> bool: ...


@dataclass(frozen=True)
class ZohoResponse:
    """A Zoho answer that is not a 429 or (after retries) a 5xx."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    product: str

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    @property
    def code(self) -> int | None:
        """Zoho's numeric ``code`` from the envelope, when there is one."""
        body = self.json()
        code = body.get("code") if isinstance(body, dict) else None
        return code if isinstance(code, int) else None


class _Retriable(TransientError):
    """An attempt that may succeed when repeated (5xx, network, Zoho's code 1070)."""

    def __init__(self, reason: str, final: TransientError) -> None:
        super().__init__(str(final))
        self.reason = reason
        self.final = final


def check_path(path: str) -> None:
    """Refuse paths that would leave the product's API root (``..``), where our token could
    reach other endpoints of the host (e.g. the token endpoint on the same server)."""
    segments = path.replace("\\", "/").split("/")
    if any(segment in (".", "..") for segment in segments) or "?" in path or "#" in path:
        raise BadRequestError("Zoho path must stay below the API root (no '.', '..', '?', '#')")


def endpoint_template(path: str) -> str:
    """``/items/4815000000044208`` → ``/items/{id}``: bounded metric labels, no record ids."""
    segments = [s for s in path.split("/") if s]
    return "/" + "/".join(s if _PLAIN_SEGMENT.match(s) else "{id}" for s in segments)


class ZohoClient:
    """Calls Zoho for every route of the proxy."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        budget: BudgetGate,
        tokens: TokenSource,
        settings: Settings,
        scopes: ScopeVerdicts | None = None,
    ) -> None:
        """``scopes`` None: scope verdicts in this client's memory only (unit tests)."""
        self._http = http
        self._budget = budget
        self._tokens = tokens
        self._settings = settings
        self._scopes = scopes or ScopeVerdicts(None, "", settings.scope_denial_ttl_seconds)

    async def call(
        self,
        product: str,
        method: str,
        path: str,
        *,
        org_id: str,
        lane: Lane,
        params: Params = (),
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ZohoResponse:
        """One logical Zoho call with budget, auth, retries; raises our errors only."""
        method = method.upper()
        check_path(path)
        s = self._settings
        attempts = s.retry_attempts if method in IDEMPOTENT_METHODS else 1
        retrying = AsyncRetrying(
            stop=stop_any(stop_after_attempt(attempts), _PastCallerDeadline()),
            wait=tenacity_wait(s.retry_initial_seconds, s.retry_max_seconds),
            retry=retry_if_exception_type(_Retriable),
            before_sleep=lambda state: self._before_retry(product, state),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._authorized(
                        product, method, path, org_id, lane, params, content, headers
                    )
        except _Retriable as exc:
            metrics.UPSTREAM_FAILURES.labels(product, exc.reason).inc()
            raise exc.final from None
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _authorized(
        self,
        product: str,
        method: str,
        path: str,
        org_id: str,
        lane: Lane,
        params: Params,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> ZohoResponse:
        """One attempt, plus one more with a new token if Zoho says the token is dead; a
        missing scope (known, or found now) is our 403 and mints nothing."""
        kind = kind_of(org_id, product, method, path)
        if kind is not None and self._scopes.denied(kind):
            metrics.SCOPE_DENIALS.labels(product).inc()
            raise scope_missing(kind)
        for auth_try in range(2):
            token = await self._tokens.get()
            response = await self._send(
                product, method, path, org_id, lane, params, content, headers, token
            )
            if not _unauthorized(response):
                if kind is not None and response.status_code < 400:
                    await self._scopes.allow(kind)
                return response
            verified = response.code == INVALID_TOKEN_CODE
            if kind is not None and response.code == DEAD_TOKEN_OR_SCOPE_CODE:
                dead = await self._scopes.token_is_dead(
                    kind,
                    partial(self._token_works, token=token, lane=lane),
                    young=self._tokens.is_young(token),
                )
                if dead is False:
                    metrics.SCOPE_DENIALS.labels(product).inc()
                    raise scope_missing(kind)
                verified = dead is True
            if auth_try == 1 or not await self._tokens.invalidate(token, verified=verified):
                return response
            metrics.UPSTREAM_RETRIES.labels(product, "unauthorized").inc()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _token_works(self, kind: CallKind, token: str, lane: Lane) -> bool | None:
        """Try ``token`` on a kind of call Zoho answered before (a one-record read): whether
        Zoho accepts it, or None when the answer tells nothing (5xx, timeout, no budget)."""
        try:
            response = await self._send(
                kind.product,
                "GET",
                kind.resource,
                kind.org_id,
                lane,
                [("per_page", "1")],
                content=None,
                headers=None,
                token=token,
            )
        except TransientError:
            return None
        return not _unauthorized(response)

    async def _send(
        self,
        product: str,
        method: str,
        path: str,
        org_id: str,
        lane: Lane,
        params: Params,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        token: str,
    ) -> ZohoResponse:
        url = self._settings.api_root(product) + "/" + path.lstrip("/")
        query: list[tuple[str, str | int | float | bool | None]] = [
            (k, v) for k, v in params if k != "organization_id"
        ]
        query.append(("organization_id", org_id))
        request_headers = {"Authorization": f"Zoho-oauthtoken {token}"}
        for name in FORWARDED_REQUEST_HEADERS:
            if headers is not None and name in headers:
                request_headers[name] = headers[name]
        endpoint = endpoint_template(path)
        operation = f"{product} {method}"
        left = seconds_left()
        if left is not None and left <= 0:  # the caller has gone: no Zoho call for nobody
            raise ZohoUnavailableError(f"the caller's deadline passed before {method} {endpoint}")
        lease = await self._budget.acquire(org_id, product, lane)
        timeout = self._settings.request_timeout_seconds
        if (left := seconds_left()) is not None:  # never wait for Zoho past the caller
            timeout = max(0.001, min(timeout, left))
        release_headers: Mapping[str, str] | None = None
        throttle_code: int | None = None
        timed_out = False
        started = time.perf_counter()
        status = "error"
        with tracer.start_as_current_span(
            f"zoho {method} {product}{endpoint}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": method,
                "url.template": endpoint,
                "zoho.api": product,
                "zoho.lane": lane,
                "zoho.organization_id": org_id,
                "zoho.budget_wait_seconds": lease.waited_seconds,
            },
        ) as span:
            try:
                response = await self._http.request(
                    method,
                    url,
                    params=query,
                    content=content,
                    headers=request_headers,
                    timeout=timeout,
                )
                status = str(response.status_code)
                span.set_attribute("http.response.status_code", response.status_code)
                release_headers = response.headers
                result = ZohoResponse(
                    response.status_code, response.headers, response.content, product
                )
                if response.status_code == 429:
                    throttle_code = result.code or 44
                    span.set_status(Status(StatusCode.ERROR, f"zoho 429 code {throttle_code}"))
                    raise self._throttled(product, throttle_code, response.headers)
                if response.status_code >= 500:
                    span.set_status(Status(StatusCode.ERROR, f"zoho {response.status_code}"))
                    raise _Retriable(
                        "5xx",
                        ZohoServerError(
                            f"Zoho {product} answered HTTP {response.status_code} "
                            f"for {method} {endpoint}"
                        ),
                    )
                return result
            except httpx.TimeoutException as exc:
                status = "timeout"
                timed_out = True
                span.set_status(Status(StatusCode.ERROR, "timeout"))
                raise _Retriable(
                    "timeout",
                    ZohoUnavailableError(
                        f"Zoho {product} did not answer {method} {endpoint} within {timeout:.3g} s"
                    ),
                ) from exc
            except httpx.HTTPError as exc:
                status = "connect_error"
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise _Retriable(
                    "connect",
                    ZohoUnavailableError(f"Zoho {product} unreachable: {type(exc).__name__}"),
                ) from exc
            finally:
                elapsed = time.perf_counter() - started
                await self._budget.release(
                    lease,
                    headers=release_headers,
                    throttle_code=throttle_code,
                    hold_in_flight=timed_out,
                )
                metrics.UPSTREAM_CALLS.labels(product, endpoint, status, lane).inc()
                status_class = f"{status[0]}xx" if status[0].isdigit() else status
                metrics.UPSTREAM_DURATION.labels(operation, status_class).observe(elapsed)

    def _throttled(self, product: str, code: int, headers: httpx.Headers) -> TransientError:
        """Zoho's own 429 (another app on the org, or limits lower than configured)."""
        metrics.ZOHO_THROTTLED.labels(product, str(code)).inc()
        logger.warning(
            "Zoho answered 429 despite the budget", extra={"product": product, "zoho_code": code}
        )
        if code == 1070:
            return _Retriable(
                "throttled",
                BudgetExhaustedError("Zoho in-flight limit reached", retry_after_seconds=1.0),
            )
        wait = self._settings.window_seconds
        if code == 45:
            try:
                wait = float(headers.get("x-rate-limit-reset", ""))
            except ValueError:
                wait = self._settings.daily_window_seconds
        return BudgetExhaustedError(
            f"Zoho {product} rate limit reached (code {code})", retry_after_seconds=wait
        )

    @staticmethod
    def _before_retry(product: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = exc.reason if isinstance(exc, _Retriable) else "unknown"
        metrics.UPSTREAM_RETRIES.labels(product, reason).inc()
        logger.info(
            "retrying a Zoho call: %s",
            reason,
            extra={"product": product, "attempt": state.attempt_number},
        )


class _PastCallerDeadline(stop_base):
    """Stop retrying when the next attempt could not start before the caller gives up."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        left = seconds_left()
        return left is not None and left <= retry_state.upcoming_sleep


def _unauthorized(response: ZohoResponse) -> bool:
    return response.status_code == 401 or response.code in UNAUTHORIZED_CODES


def query_pairs(params: Mapping[str, Any] | Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Normalise query parameters to pairs, dropping ``None``."""
    items = params.items() if isinstance(params, Mapping) else params
    return [(str(k), str(v)) for k, v in items if v is not None]
