"""``/zoho/books/{path}`` and ``/zoho/inventory/{path}``: Zoho's API with auth added.

The query and body go to Zoho as sent, plus ``organization_id`` and the token. GET and HEAD
for every caller; POST/PUT/PATCH/DELETE only for callers in ``ZOHO_PROXY_WRITER_TOKENS`` (the
write-back relay), 403 ``writes_refused`` for the rest: a leaked read token writes nothing.
Zoho's answer comes back as it is, except 429s (ours, with Retry-After) and 5xx or network
failures after retries (502 / 503). Retries only for idempotent methods.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request, Response

from zoho_proxy.api.deps import ERRORS, CallerDep, StateDep, get_org, lane_from, require_writer

router = APIRouter(prefix="/zoho", tags=["pass-through"], responses=ERRORS)

METHODS: Final = ["GET", "POST", "PUT", "PATCH", "DELETE"]
READ_METHODS: Final = frozenset({"GET", "HEAD"})
RETURNED_HEADERS: Final = (
    "content-type",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
)
OWN_PARAMS: Final = frozenset({"org_id", "organization_id"})


async def _forward(
    product: str, path: str, request: Request, state: StateDep, caller: str
) -> Response:
    if request.method not in READ_METHODS:
        require_writer(request, caller)
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


async def books(path: str, request: Request, state: StateDep, caller: CallerDep) -> Response:
    """Zoho Books v3 with the proxy's token and budget (lane default: incremental)."""
    return await _forward("books", path, request, state, caller)


async def inventory(path: str, request: Request, state: StateDep, caller: CallerDep) -> Response:
    """Zoho Inventory v1 with the proxy's token and budget (lane default: incremental)."""
    return await _forward("inventory", path, request, state, caller)


# One route per method, each with its own operation id (one route of many methods repeats it).
for _method in METHODS:
    for _product, _endpoint in (("books", books), ("inventory", inventory)):
        router.add_api_route(
            f"/{_product}/{{path:path}}",
            _endpoint,
            methods=[_method],
            operation_id=f"{_product}_{_method.lower()}",
        )
