"""``/_sim/write-faults`` and ``/_sim/writes``: fail or hold API writes after applying them, count
the writes applied (whatever their answer said), per ``<METHOD> <module>``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from zoho_sim.control.deps import StateDep
from zoho_sim.write_rules import WriteFaults

router = APIRouter()


@router.get("/write-faults")
async def get_write_faults(state: StateDep) -> WriteFaults:
    """The write faults in force."""
    return state.writes.faults


@router.put("/write-faults")
async def put_write_faults(state: StateDep, changes: dict[str, Any]) -> WriteFaults:
    """Merge the given fields into the write faults (e.g. ``{"fail_after_apply_next": 3}``)."""
    merged = {**state.writes.faults.model_dump(), **changes}
    state.writes.set_faults(WriteFaults.model_validate(merged))
    return state.writes.faults


@router.get("/writes")
async def applied_writes(state: StateDep) -> dict[str, int]:
    """Writes applied since the last reset, e.g. ``{"POST invoices": 2}``."""
    return dict(state.writes.applied)
