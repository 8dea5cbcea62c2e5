"""``GET /v1/{entity}/{id}`` and ``GET /v1/{entity}``: reads routed Books-first (contract).

The answers are :mod:`tds_common.proxy_client`'s models, the ones callers read them with, so
this service's OpenAPI states the contract.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from tds_common.proxy_client import PageAnswer, RecordAnswer
from zoho_proxy import routing
from zoho_proxy.api.deps import ERRORS, OrgDep, StateDep, caller_token, lane_from
from zoho_proxy.deadline import caller_deadline
from zoho_proxy.zoho.client import query_pairs

router = APIRouter(
    prefix="/v1", tags=["entities"], responses=ERRORS, dependencies=[Depends(caller_token)]
)


@router.get("/{entity}/{record_id}", response_model=RecordAnswer)
async def get_record(
    entity: str, record_id: str, request: Request, state: StateDep, org: OrgDep
) -> RecordAnswer:
    """One full record, unwrapped, from the first source that has it (lane default: webhook)."""
    routing.entity_spec(entity)
    lane = lane_from(request, "webhook")
    with caller_deadline(request):
        return await routing.read_record(state.client, entity, record_id, org_id=org, lane=lane)


@router.get("/{entity}", response_model=PageAnswer)
async def list_records(entity: str, request: Request, state: StateDep, org: OrgDep) -> PageAnswer:
    """One page of an entity's list with Zoho's page_context (lane default: bulk);
    ``?source=inventory`` lists from that product only."""
    routing.entity_spec(entity)
    source = request.query_params.get("source")
    lane = lane_from(request, "bulk")
    params = query_pairs(
        [(k, v) for k, v in request.query_params.multi_items() if k in routing.LIST_PARAMS]
    )
    with caller_deadline(request):
        return await routing.read_page(
            state.client, entity, params, org_id=org, lane=lane, source=source
        )
