"""Live configuration: faults, limits, webhook target, token revocation, grant codes, clock."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, ValidationError

from zoho_sim.control.deps import StateDep
from zoho_sim.faults import FaultConfig
from zoho_sim.settings import ApiSettings, LimitSettings, WebhookSettings

router = APIRouter()


def _merged(model: type[BaseModel], current: BaseModel, changes: dict[str, Any]) -> Any:
    unknown = set(changes) - set(model.model_fields)
    if unknown:
        raise HTTPException(
            422, f"unknown fields {sorted(unknown)}; known: {list(model.model_fields)}"
        )
    try:
        return model.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        raise HTTPException(
            422, exc.errors(include_url=False, include_context=False, include_input=False)
        ) from None


@router.get("/faults")
async def get_faults(state: StateDep) -> FaultConfig:
    """The faults in force (counted faults show what is left)."""
    return state.faults.config


@router.put("/faults")
async def put_faults(state: StateDep, changes: dict[str, Any]) -> FaultConfig:
    """Merge the given fields into the faults in force."""
    merged: FaultConfig = _merged(FaultConfig, state.faults.config, changes)
    return state.faults.update(merged.model_dump())


@router.delete("/faults")
async def clear_faults(state: StateDep) -> FaultConfig:
    """No faults (held requests are released)."""
    state.faults.clear()
    return state.faults.config


@router.post("/faults/release")
async def release(state: StateDep) -> FaultConfig:
    """Let calls held by ``hold`` continue."""
    state.faults.release()
    return state.faults.config


@router.get("/limits")
async def get_limits(state: StateDep) -> LimitSettings:
    return state.limits


@router.put("/limits")
async def put_limits(state: StateDep, changes: dict[str, Any]) -> LimitSettings:
    """Merge into the live limits; budgets keep their counts and use the new limits at once."""
    state.set_limits(_merged(LimitSettings, state.limits, changes))
    return state.limits


@router.get("/api")
async def get_api(state: StateDep) -> ApiSettings:
    return state.api


@router.put("/api")
async def put_api(state: StateDep, changes: dict[str, Any]) -> ApiSettings:
    """Merge into the request handling (e.g. ``last_modified_ignored_for``,
    ``default_lists_active_only``); later calls use it at once."""
    state.api = _merged(ApiSettings, state.api, changes)
    return state.api


def _webhook_view(config: WebhookSettings) -> dict[str, Any]:
    """The config with secret values masked (header/query values may be tokens)."""
    data = config.model_dump(mode="json")
    data["headers"] = dict.fromkeys(config.headers, "***")
    data["query"] = dict.fromkeys(config.query, "***")
    data["hmac_secret"] = "***" if config.hmac_secret is not None else None
    return data


@router.get("/webhooks")
async def get_webhooks(state: StateDep) -> dict[str, Any]:
    return _webhook_view(state.webhook_config)


@router.put("/webhooks")
async def put_webhooks(state: StateDep, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge into the webhook target config (``url_template``, ``headers``, ``query``,
    ``hmac_secret``, ``hmac_header``, ``events``, ``timeout_seconds``)."""
    current = state.webhook_config.model_dump()
    if current["hmac_secret"] is not None:
        current["hmac_secret"] = state.webhook_config.hmac_secret.get_secret_value()  # type: ignore[union-attr]
    config: WebhookSettings = _merged(WebhookSettings, WebhookSettings(**current), changes)
    state.set_webhook_config(config)
    return _webhook_view(config)


@router.delete("/webhooks")
async def delete_webhooks(state: StateDep) -> dict[str, Any]:
    """Webhooks off."""
    state.set_webhook_config(WebhookSettings())
    return _webhook_view(state.webhook_config)


class RevokeRequest(BaseModel):
    model_config = {"extra": "forbid"}

    access_tokens: bool = False
    """Revoke every access token issued so far (API calls then answer code 57)."""
    refresh_token: str | None = None
    """Revoke this refresh token (token calls then answer ``invalid_code``)."""
    default_refresh_token: bool = False
    """Revoke the configured refresh token."""


@router.post("/oauth/revoke")
async def revoke(state: StateDep, body: RevokeRequest) -> dict[str, int]:
    """Token revocation on demand."""
    revoked_access = state.oauth.revoke_all_access() if body.access_tokens else 0
    refresh = 0
    targets = [body.refresh_token] if body.refresh_token else []
    if body.default_refresh_token:
        targets.append(state.settings.oauth.refresh_token.get_secret_value())
    for token in targets:
        refresh += state.oauth.revoke(token)
    return {"access_tokens_revoked": revoked_access, "refresh_tokens_revoked": refresh}


class GrantCodeRequest(BaseModel):
    model_config = {"extra": "forbid"}

    redirect_uri: str = ""
    scope: str | None = None
    """Comma-separated scopes the consent granted (default: the configured ``oauth.scope``)."""


@router.post("/oauth/grant-codes")
async def grant_code(state: StateDep, body: GrantCodeRequest | None = None) -> dict[str, str]:
    """A single-use authorization code, as Zoho's consent redirect would carry."""
    body = body or GrantCodeRequest()
    return {"code": state.oauth.issue_code(body.redirect_uri, body.scope)}


class ClockRequest(BaseModel):
    model_config = {"extra": "forbid"}

    advance_seconds: float = Field(..., ge=0)


@router.post("/clock")
async def advance_clock(state: StateDep, body: ClockRequest) -> dict[str, float]:
    """Move the simulator's clock forward (windows, expiry, lockouts, new timestamps)."""
    state.clock.advance(body.advance_seconds)
    return {"offset_seconds": state.clock.offset}
