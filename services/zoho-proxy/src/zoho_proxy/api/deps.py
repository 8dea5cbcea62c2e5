"""Request dependencies: the proxy's state, the caller's organization and lane."""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import Depends, Request

from tds_common.identifiers import ORG_ID_RULE, is_org_id
from zoho_proxy.budget_rules import Lane
from zoho_proxy.errors import BadRequestError
from zoho_proxy.state import ProxyState

ORG_HEADER = "x-tds-org"
LANE_HEADER = "x-tds-lane"


def get_state(request: Request) -> ProxyState:
    state: ProxyState = request.app.state.proxy
    return state


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
            "no organization: send X-TDS-Org or ?org_id=, or set ZOHO_ORGANIZATION_ID"
        )
    if not is_org_id(org):
        raise BadRequestError(ORG_ID_RULE)
    return org


def lane_from(request: Request, default: Lane) -> Lane:
    """``X-TDS-Lane: webhook|write|incremental|bulk``, else ``default``."""
    raw = request.headers.get(LANE_HEADER)
    if raw is None:
        return default
    lanes: tuple[Lane, ...] = get_args(Lane)
    for lane in lanes:
        if raw.strip().lower() == lane:
            return lane
    raise BadRequestError(f"X-TDS-Lane must be one of {', '.join(lanes)}")


StateDep = Annotated[ProxyState, Depends(get_state)]
OrgDep = Annotated[str, Depends(get_org)]
