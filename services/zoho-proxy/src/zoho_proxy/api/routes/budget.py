"""``GET /api/zoho/budget``: what is left of Zoho's limits, per organization and product."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from tds_common.proxy_client import BudgetAnswer
from zoho_proxy.api.deps import ERRORS, StateDep, caller_token

router = APIRouter(
    prefix="/api/zoho", tags=["budget"], responses=ERRORS, dependencies=[Depends(caller_token)]
)


@router.get("/budget", response_model=BudgetAnswer)
async def budget(state: StateDep) -> dict[str, Any]:
    """Minute/day/in-flight used and left (all replicas), lane waits (this replica), token."""
    return {
        "budgets": await state.budget.snapshot(),
        "lane_waits": state.budget.lane_waits(),
        "token": {"state": state.tokens.state, "last_error": state.tokens.last_error},
    }
