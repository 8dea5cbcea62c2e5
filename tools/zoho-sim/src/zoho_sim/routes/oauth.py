"""Zoho Accounts endpoints: ``POST /oauth/v2/token`` and ``POST /oauth/v2/token/revoke``.

Parameters come from the query string (Zoho's own examples) or a form body (what most clients
send); a JSON body is not accepted and answers ``invalid_client``, as the facts file says.
Errors are HTTP 200 with ``{"error": ...}`` except the mint throttle (Access Denied: HTTP 400,
or ``ZOHO_SIM_OAUTH__LOCKOUT_HTTP_STATUS``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from zoho_sim.state import SimState

router = APIRouter()


async def _params(request: Request) -> tuple[dict[str, str], bool]:
    """Query and form parameters merged (form wins); True when the body was JSON."""
    params = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and (content_type == "application/json" or body.lstrip().startswith((b"{", b"["))):
        return params, True
    if body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params, False


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


@router.post("/oauth/v2/token")
async def token(request: Request) -> JSONResponse:
    """Mint an access token (refresh_token or authorization_code grant)."""
    state = _state(request)
    params, was_json = await _params(request)
    if state.faults.take_token_failure():
        outcome_status, body = 500, {"error": "server_error"}
    elif was_json:
        state.oauth.errors["invalid_client"] += 1
        outcome_status, body = 200, {"error": "invalid_client"}
    else:
        outcome = state.oauth.token(params, state.api_domain(str(request.base_url)))
        outcome_status, body = outcome.status, outcome.body
    state.calls.record("POST", "/oauth/v2/token", outcome_status)
    return JSONResponse(body, status_code=outcome_status)


@router.post("/oauth/v2/token/revoke")
async def revoke(request: Request) -> JSONResponse:
    """Revoke a refresh token (with its access tokens) or one access token."""
    state = _state(request)
    params, _ = await _params(request)
    known = state.oauth.revoke(params.get("token", ""))
    body = {"status": "success"} if known else {"error": "invalid_token"}
    state.calls.record("POST", "/oauth/v2/token/revoke", 200)
    return JSONResponse(body)
