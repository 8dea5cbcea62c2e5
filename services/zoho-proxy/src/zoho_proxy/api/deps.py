"""Request dependencies: the caller's token, the proxy's state, the organization and lane."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Depends, Request

from tds_common.auth import authenticate, matches_any
from tds_common.identifiers import ORG_ID_RULE, is_org_id
from tds_common.proxy_client import LANE_HEADER, LANES, ORG_HEADER, ErrorAnswer, Lane
from zoho_proxy.errors import BadRequestError, WritesRefusedError
from zoho_proxy.state import ProxyState

ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorAnswer} for status in (400, 401, 403, 404, 429, 502, 503)
}
"""The error answers every proxy route may give, for the OpenAPI document."""


def get_state(request: Request) -> ProxyState:
    state: ProxyState = request.app.state.proxy
    return state


def caller_token(request: Request) -> str:
    """The caller's bearer token, when it is one of ``ZOHO_PROXY_CLIENT_TOKENS`` or
    ``ZOHO_PROXY_WRITER_TOKENS``; 401 otherwise."""
    return authenticate(request, get_state(request).settings.accepted_tokens())


def require_writer(request: Request, token: str) -> None:
    """403 unless ``token`` is one of ``ZOHO_PROXY_WRITER_TOKENS``."""
    if not matches_any(token, get_state(request).settings.writer_tokens):
        raise WritesRefusedError(
            f"{request.method} through the pass-through is refused: only callers in "
            "ZOHO_PROXY_WRITER_TOKENS may write to Zoho"
        )


def get_org(request: Request) -> str:
    """``X-TDS-Org``, else ``?org_id=`` (or ``organization_id``), else ZOHO_ORGANIZATION_ID."""
    org = (
        request.headers.get(ORG_HEADER)
        or request.query_params.get("org_id")
        or request.query_params.get("organization_id")
        or get_state(request).settings.zoho_organization_id
    )
    if not org:
        raise BadRequestError(
            f"no organization: send {ORG_HEADER} or ?org_id=, or set ZOHO_ORGANIZATION_ID"
        )
    if not is_org_id(org):
        raise BadRequestError(ORG_ID_RULE)
    return org


def lane_from(request: Request, default: Lane) -> Lane:
    """``X-TDS-Lane: webhook|write|incremental|bulk``, else ``default``."""
    raw = request.headers.get(LANE_HEADER)
    if raw is None:
        return default
    for lane in LANES:
        if raw.strip().lower() == lane:
            return lane
    raise BadRequestError(f"{LANE_HEADER} must be one of {', '.join(LANES)}")


CallerDep = Annotated[str, Depends(caller_token)]
StateDep = Annotated[ProxyState, Depends(get_state)]
OrgDep = Annotated[str, Depends(get_org)]
