"""How complete the mirror is: live rows and documents still without their details, per org.

``GET /api/zoho/sync/completeness`` (contract, docs/architecture.md "HTTP surface") answers
``{"organizations": {"<org>": {"<entity>": {"rows": N, "details_pending": M}}}}`` from the
mirror itself, and refreshes the gauge ``tds_bulk_sync_details_pending{org,entity}``; every run
of a document entity refreshes it too and records what it left in ``tds_sync_runs``.
"""

from __future__ import annotations

import uuid

from bulk_sync import metrics
from tds_common.catalogue import ENTITIES, get_entity
from tds_common.mirror import DbConnection
from tds_common.mirror.reads import completeness_by_org


async def completeness(conn: DbConnection) -> dict[str, dict[str, dict[str, int]]]:
    """Per organization and entity: live rows and details pending (0 without details)."""
    organizations: dict[str, dict[str, dict[str, int]]] = {}
    for entity in ENTITIES:
        spec = get_entity(entity)
        for org_id, counts in (await completeness_by_org(conn, spec)).items():
            organizations.setdefault(org_id, {})[entity] = {
                "rows": counts.rows,
                "details_pending": counts.details_pending,
            }
            if spec.child is not None:
                metrics.DETAILS_PENDING.labels(org_id, entity).set(counts.details_pending)
    return organizations


async def record_details_pending(
    conn: DbConnection, run_id: uuid.UUID, org_id: str, entity: str, pending: int
) -> None:
    """The run's record and the gauge: how many documents the run left without details."""
    await conn.execute(
        "UPDATE tds_sync_runs SET details_pending = $2 WHERE id = $1", run_id, pending
    )
    metrics.DETAILS_PENDING.labels(org_id, entity).set(pending)


async def record_drift(conn: DbConnection, run_id: uuid.UUID, entity: str, rows: int) -> None:
    """The run's record and the gauge: mirror rows its verification found different."""
    await conn.execute("UPDATE tds_sync_runs SET drift_rows = $2 WHERE id = $1", run_id, rows)
    metrics.DRIFT_ROWS.labels(entity).set(rows)
