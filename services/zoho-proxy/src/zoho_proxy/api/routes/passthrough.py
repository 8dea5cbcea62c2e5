"""``/zoho/books/{path}`` and ``/zoho/inventory/{path}``: Zoho's API with auth added.

Any method; the query and body go to Zoho as sent, plus ``organization_id`` and the token.
Zoho's answer comes back as it is, except 429s (ours, with Retry-After) and 5xx or network
failures after retries (502 / 503). Retries only for idempotent methods.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request, Response

from zoho_proxy.api.deps import StateDep, get_org, lane_from

router = APIRouter(prefix="/zoho", tags=["pass-through"])

METHODS: Final = ["GET", "POST", "PUT", "PATCH", "DELETE"]
RETURNED_HEADERS: Final = (
    "content-type",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
)
OWN_PARAMS: Final = frozenset({"org_id", "organization_id"})


async def _forward(product: str, path: str, request: Request, state: StateDep) -> Response:
    org = get_org(request)
    lane = lane_from(request, "incremental")
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in OWN_PARAMS]
    body = await request.body()
    response = await state.client.call(
        product,
        request.method,
        path,
        org_id=org,
        lane=lane,
        params=params,
        content=body or None,
        headers=request.headers,
    )
    headers = {k: response.headers[k] for k in RETURNED_HEADERS if k in response.headers}
    return Response(response.content, status_code=response.status_code, headers=headers)


@router.api_route("/books/{path:path}", methods=METHODS)
async def books(path: str, request: Request, state: StateDep) -> Response:
    """Zoho Books v3 with the proxy's token and budget (lane default: incremental)."""
    return await _forward("books", path, request, state)


@router.api_route("/inventory/{path:path}", methods=METHODS)
async def inventory(path: str, request: Request, state: StateDep) -> Response:
    """Zoho Inventory v1 with the proxy's token and budget (lane default: incremental)."""
    return await _forward("inventory", path, request, state)
