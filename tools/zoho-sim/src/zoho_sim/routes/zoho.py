"""The Books v3 and Inventory v1 API surface: the gate every call passes, then the views.

Order of checks (each answers in Zoho's envelope): ``Authorization: Zoho-oauthtoken`` (code 14
for a missing/malformed/unknown token, 57 for an expired or revoked one), the URL (404 code 5),
the method (405; writes only on the modules :mod:`zoho_sim.routes.writes` serves), the
token's scope (57), ``organization_id`` (400, code 6041), then the org's
budget for this product: injected 429 storms, daily quota (45), per minute (44), in flight
(1070). Admitted calls count as in flight while held, delayed or failed by faults. Every
org-scoped answer carries the ``X-Rate-Limit-*`` headers; none carries Retry-After.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from fastapi import APIRouter, Request, Response

from zoho_sim import scopes
from zoho_sim.entities import SPECS, EntitySpec
from zoho_sim.errors import (
    AUTH_INVALID_MESSAGE,
    IN_FLIGHT_MESSAGE,
    INTERNAL_ERROR_MESSAGE,
    INVALID_URL_MESSAGE,
    NOT_AUTHORIZED_MESSAGE,
    PER_MINUTE_MESSAGE,
    ZohoError,
    daily_message,
    not_found,
    wrong_org_message,
)
from zoho_sim.limits import Budget
from zoho_sim.routes import views, writes
from zoho_sim.state import Org, SimState

router = APIRouter()

METHODS: Final = ["GET", "POST", "PUT", "PATCH", "DELETE"]
JSON_MEDIA_TYPE: Final = "application/json;charset=UTF-8"
ORG_HEADERS: Final = {
    "books": "X-com-zoho-books-organizationid",
    "inventory": "X-com-zoho-inventory-organizationid",
}

Kind = Literal["organizations", "organization", "list", "detail", "itemdetails", "locations"]


@dataclass(frozen=True)
class Route:
    kind: Kind
    spec: EntitySpec | None = None
    record_id: str = ""


def json_response(
    body: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    content = json.dumps(body, separators=(",", ":")).encode()
    return Response(content, status_code=status, headers=headers, media_type=JSON_MEDIA_TYPE)


def resolve_route(path: str) -> Route:
    parts = [part for part in path.split("/") if part]
    if not parts:
        raise ZohoError(404, 5, INVALID_URL_MESSAGE)
    if parts[0] == "organizations" and len(parts) <= 2:
        return Route("organizations") if len(parts) == 1 else Route("organization", None, parts[1])
    if parts == ["itemdetails"]:
        return Route("itemdetails")
    if parts[0] == "locations" and len(parts) <= 2:
        return Route("locations", None, parts[1] if len(parts) == 2 else "")
    if parts[0] == "settings" and len(parts) >= 2 and parts[1] == "warehouses":
        spec, rest = SPECS["warehouses"], parts[2:]
    elif parts[0] in SPECS and parts[0] != "warehouses":
        spec, rest = SPECS[parts[0]], parts[1:]
    else:
        raise ZohoError(404, 5, INVALID_URL_MESSAGE)
    if not rest:
        return Route("list", spec)
    if len(rest) == 1:
        return Route("detail", spec, rest[0])
    raise ZohoError(404, 5, INVALID_URL_MESSAGE)


def authenticate(state: SimState, request: Request) -> str:
    unauthorized = state.api.unauthorized_status
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    schemes = (
        {"Zoho-oauthtoken", "Bearer"}
        if state.settings.oauth.accept_bearer_scheme
        else {"Zoho-oauthtoken"}
    )
    if scheme not in schemes or not token.strip():
        raise ZohoError(unauthorized, 14, AUTH_INVALID_MESSAGE)
    verdict = state.oauth.check(token.strip())
    if verdict == "unknown":
        raise ZohoError(unauthorized, 14, AUTH_INVALID_MESSAGE)
    if verdict != "valid":
        raise ZohoError(unauthorized, 57, NOT_AUTHORIZED_MESSAGE)
    return token.strip()


def check_scope(state: SimState, token: str, product: str, route: Route) -> None:
    """Code 57 (like a dead token) when the token's scopes do not cover the module."""
    resource = route.spec.path if route.spec is not None else route.kind
    if route.kind in {"organizations", "organization"}:
        resource = "organizations"
    if not scopes.allows(state.oauth.scope_of(token), product, resource):
        raise ZohoError(state.api.unauthorized_status, 57, NOT_AUTHORIZED_MESSAGE)


def organization(state: SimState, request: Request, product: str) -> Org:
    api = state.api
    org_id = request.query_params.get("organization_id", "")
    if not org_id and api.accept_org_header:
        org_id = request.headers.get(ORG_HEADERS[product], "")
    if not org_id:
        if not api.missing_org_fallback:
            raise ZohoError(400, api.missing_org_code, api.missing_org_message)
        org_id = state.settings.default_org_id
    org = state.orgs.get(org_id)
    if org is None:
        raise ZohoError(400, 6041, wrong_org_message(org_id))
    return org


def throttled(code: int, budget: Budget) -> ZohoError:
    message = {44: PER_MINUTE_MESSAGE, 1070: IN_FLIGHT_MESSAGE}.get(code) or daily_message(
        budget.daily_quota
    )
    return ZohoError(429, code, message, budget.headers())


async def _admitted_call(
    state: SimState, request: Request, product: str, route: Route, org: Org, budget: Budget
) -> Response:
    faults = state.faults
    try:
        await faults.wait_if_held()
        if faults.config.latency_seconds:
            await asyncio.sleep(faults.config.latency_seconds)
        failure = faults.take_error()
        if failure is not None:
            raise ZohoError(failure, 1000, INTERNAL_ERROR_MESSAGE)
        params = request.query_params
        status = 200
        searched = writes.search_field(state, params) if route.kind == "list" else None
        if request.method != "GET":
            assert route.spec is not None
            body, status = await writes.apply(
                state, request, product, route.spec, org, route.record_id
            )
        elif searched is not None:
            assert route.spec is not None
            body = writes.search_body(state, org, route.spec, product, *searched)
        elif route.kind == "itemdetails":
            body = views.itemdetails_body(org, product, params)
        elif route.kind == "locations":
            body = views.locations_body(org, route.record_id or None)
        elif route.kind == "list":
            assert route.spec is not None
            body = views.list_body(org, route.spec, product, params, state.api)
        else:
            assert route.spec is not None
            body = views.detail_body(org, route.spec, product, route.record_id)
    except ZohoError as exc:
        exc.headers.update(budget.headers())
        raise
    finally:
        budget.release()
    body = {"code": 0, "message": "success", **body}
    return json_response(body, status, headers=budget.headers())


def _organizations(state: SimState, route: Route) -> Response:
    if route.kind == "organizations":
        orgs = [org.organization for org in state.orgs.values()]
        return json_response({"code": 0, "message": "success", "organizations": orgs})
    org = state.orgs.get(route.record_id)
    if org is None:
        raise not_found("Organization")
    return json_response({"code": 0, "message": "success", "organization": org.organization})


async def _dispatch(state: SimState, request: Request, product: str, path: str) -> Response:
    token = authenticate(state, request)
    route = resolve_route(path)
    if request.method != "GET" and not writes.accepts(request.method, route.kind, route.spec):
        raise views.method_not_allowed(request.method)
    check_scope(state, token, product, route)
    if route.kind in {"organizations", "organization"}:
        return _organizations(state, route)
    org = organization(state, request, product)
    budget = state.budget(org.settings.organization_id, product)
    code = state.faults.take_throttle()
    if code is not None:
        budget.record_throttle(code)
        raise throttled(code, budget)
    code = budget.admit()
    if code is not None:
        raise throttled(code, budget)
    return await _admitted_call(state, request, product, route, org, budget)


async def handle(request: Request, product: str, path: str) -> Response:
    """One Zoho API call; counted per path template and status (499: the client went away)."""
    state: SimState = request.app.state.sim
    response: Response | None = None
    try:
        response = await _dispatch(state, request, product, path)
    except ZohoError as exc:
        response = json_response(exc.body(), exc.http_status, exc.headers)
    finally:
        status = response.status_code if response is not None else 499
        state.calls.record(request.method, request.url.path, status)
    return response


@router.api_route("/books/v3/{path:path}", methods=METHODS, include_in_schema=False)
async def books(request: Request, path: str) -> Response:
    return await handle(request, "books", path)


@router.api_route("/inventory/v1/{path:path}", methods=METHODS, include_in_schema=False)
async def inventory(request: Request, path: str) -> Response:
    return await handle(request, "inventory", path)
