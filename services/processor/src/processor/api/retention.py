"""``POST /api/zoho/retention/prune``: one retention pass now, with the processor's own ages.

``tds prune`` calls it, so what an operator prunes by hand follows the cluster's
``PROCESSOR_RETENTION__*`` settings, never the environment the command happens to run in. The
pass waits for the background loop's pass if one is running (one pass at a time per process)
and deletes in the same small batches; it runs even with ``PROCESSOR_RETENTION__ENABLED=false``.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from processor.api.deps import StateDep
from tds_common.db import database_unavailable_as_error
from tds_common.retention import RetentionSettings

router = APIRouter(tags=["retention"])

DAYS_SUFFIX = "_days"


class PruneReport(BaseModel):
    deleted: dict[str, int]
    """Rows deleted per control table."""
    days: dict[str, float]
    """The ages this pass applied (``PROCESSOR_RETENTION__<NAME>``), by setting name."""


def _ages(settings: RetentionSettings) -> dict[str, float]:
    values = settings.model_dump()
    return {name: float(value) for name, value in values.items() if name.endswith(DAYS_SUFFIX)}


@router.post("/api/zoho/retention/prune", response_model=PruneReport)
async def prune_now(state: StateDep) -> PruneReport:
    """Prune the control tables now with the processor's retention ages; counts per table."""
    with database_unavailable_as_error("PostgreSQL unavailable"):
        deleted = await state.retention.prune_now()
    return PruneReport(deleted=deleted, days=_ages(state.retention.settings))
