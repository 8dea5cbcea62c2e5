"""Health, counters, token state, webhook deliveries, and the reset of everything."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from zoho_sim.control.deps import StateDep
from zoho_sim.counters import CallCounters
from zoho_sim.settings import SCALE_KEYS

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the simulator answers."""
    return {"status": "healthy"}


class ResetRequest(BaseModel):
    model_config = {"extra": "forbid"}

    seed: int | None = None
    scale: dict[str, int] = Field(default_factory=dict)
    """Records per entity, e.g. ``{"items": 50000}``; others use ``default_scale``."""
    default_scale: int | None = Field(None, ge=0)
    keep_config: bool = False
    """Keep the live limits and webhook config instead of returning to the settings."""
    keep_tokens: bool = False
    """Keep issued tokens, mint windows and lockouts (default: a fresh token authority)."""


@router.post("/reset")
async def reset(state: StateDep, body: ResetRequest | None = None) -> dict[str, Any]:
    """A fresh dataset; clears tokens issued, lockouts, counters, faults and deliveries."""
    body = body or ResetRequest()
    unknown = set(body.scale) - set(SCALE_KEYS)
    if unknown or any(v < 0 for v in body.scale.values()):
        raise HTTPException(422, f"scale keys must be among {list(SCALE_KEYS)} with values >= 0")
    state.reset(
        seed=body.seed,
        scale=body.scale,
        default_scale=body.default_scale,
        keep_config=body.keep_config,
        keep_tokens=body.keep_tokens,
    )
    return {"seed": state.seed, "scale": state.scale, "organizations": sorted(state.orgs)}


@router.get("/counters")
async def counters(state: StateDep) -> dict[str, Any]:
    """Calls per endpoint/status, budgets per org and product, token mints, webhooks."""
    budgets: dict[str, dict[str, Any]] = {}
    for (org_id, pool), budget in state.budgets.items():
        budgets.setdefault(org_id, {})[pool] = budget.snapshot()
    oauth = state.oauth.snapshot()
    return {
        "calls": state.calls.snapshot(),
        "budgets": budgets,
        "oauth": {key: oauth[key] for key in ("mints", "access_denied", "revocations", "errors")},
        "webhooks": {
            k: state.webhooks.outcomes[k] for k in ("delivered", "failed", "dropped", "over_limit")
        },
    }


@router.get("/admissions")
async def admissions(state: StateDep) -> dict[str, dict[str, list[float]]]:
    """Per organization and product: when each admitted call arrived, in seconds since the
    budget began (the last 10,000): how fully a client spent the rate window, call by call."""
    out: dict[str, dict[str, list[float]]] = {}
    for (org_id, pool), budget in state.budgets.items():
        out.setdefault(org_id, {})[pool] = [round(t, 6) for t in budget.admissions]
    return out


@router.post("/counters/reset")
async def reset_counters(state: StateDep) -> dict[str, str]:
    """Zero call counters and budget peaks (budgets restart their windows too)."""
    state.calls = CallCounters()
    state.budgets.clear()
    return {"status": "reset"}


@router.get("/oauth")
async def oauth_state(state: StateDep) -> dict[str, Any]:
    """Mints, lockouts and active access tokens per refresh token (tokens masked)."""
    return state.oauth.snapshot()


@router.get("/webhooks/deliveries")
async def deliveries(state: StateDep) -> list[dict[str, Any]]:
    """Every webhook attempt since the last reset, oldest first."""
    return list(state.webhooks.deliveries)
