"""Shared lookups for control routes: the state, an org, an entity's table."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from zoho_sim.entities import EntitySpec, resolve
from zoho_sim.state import Org, SimState


def get_state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


StateDep = Annotated[SimState, Depends(get_state)]


def get_org(state: SimState, org_id: str) -> Org:
    org = state.orgs.get(org_id)
    if org is None:
        raise HTTPException(404, f"unknown organization {org_id!r}; known: {sorted(state.orgs)}")
    return org


def get_spec(entity: str) -> EntitySpec:
    try:
        return resolve(entity)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None
