"""What the ZohoSync operator should do, as pure functions of the resource and the clock.

A ``ZohoSync`` (CRD ``zohosyncs.tds.dev``, see ``k8s/crds/``) says "sync these entities of this
organization, once or on a cron schedule". The kopf handlers (:mod:`bulk_sync.handlers`) only
feed these functions and carry out their answers:

- :func:`plan` → start a sync now or not, and when to look again: a resource without a schedule
  runs once per spec generation (created or changed); a scheduled one runs at each cron tick
  after its last scheduled time, never while its previous sync is still running; ``suspend``
  pauses scheduling.
- :func:`sync_requests` → the ``POST /api/zoho/bulk-sync`` bodies (a selective sync names one
  entity per request, since ids belong to one entity).
- :func:`status_from_runs` → the status patch from the runs of the last sync: phase, progress
  per run (records, pages, calls, details pending) and the ``Ready`` condition.
- :func:`idempotency_key` → the key each request carries, so a request repeated after a crash
  between the POST and the status patch answers the runs it created instead of starting more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field

from tds_common.events import parse_zoho_timestamp
from tds_common.identifiers import OrgId

Phase = Literal["Pending", "Running", "Succeeded", "Failed", "Suspended"]
ACTIVE: Final = frozenset({"pending", "running"})
"""Run statuses that suspend and delete cancel."""

ALIASES: Final = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
}
HELD: Final = "needs_confirmation"
"""A run whose deletion sweep waits for a person (``bulk_sync.held``)."""
MAX_WAIT_SECONDS: Final = 300.0
"""Look again at least this often (status refresh, clock drift)."""


class InvalidScheduleError(ValueError):
    """``spec.schedule`` is not a 5-field cron expression or an alias."""


class SyncSpec(BaseModel):
    """``spec`` of a ZohoSync (field names as in the CRD)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    organization_id: OrgId = Field(alias="organizationId")
    entities: list[str] = Field(min_length=1)
    mode: Literal["full", "incremental", "selective"] = "incremental"
    ids: list[str] | None = None
    schedule: str = ""
    suspend: bool = False


@dataclass(frozen=True)
class Plan:
    start: bool
    """Start a sync now."""
    wait_seconds: float | None
    """When to look again (None: not before the spec changes or a run is watched)."""
    reason: str
    scheduled_for: datetime | None = None
    """The cron tick this start serves (becomes ``status.lastScheduleTime``)."""
    slot: str = ""
    """Names what this start serves, for :func:`idempotency_key`: the spec generation, and the
    cron tick of a scheduled sync."""


def _cron(schedule: str) -> str:
    return ALIASES.get(schedule.strip(), schedule.strip())


def next_tick(schedule: str, after: datetime) -> datetime:
    """The first cron tick strictly after ``after`` (UTC)."""
    try:
        ticks = CronSim(_cron(schedule), after.astimezone(UTC).replace(tzinfo=None))
        tick = next(ticks)
    except (CronSimError, StopIteration) as exc:
        raise InvalidScheduleError(f"invalid schedule {schedule!r}: {exc}") from exc
    return tick.replace(tzinfo=UTC)


def plan(
    spec: SyncSpec,
    status: Mapping[str, Any],
    *,
    generation: int,
    created: datetime,
    now: datetime,
) -> Plan:
    """Whether to start a sync now (see the module docstring for the rules)."""
    running = status.get("phase") in ("Pending", "Running") and bool(status.get("lastRunIds"))
    if spec.suspend:
        return Plan(False, None, "suspended")
    if not spec.schedule:
        if status.get("observedGeneration") == generation:
            return Plan(False, MAX_WAIT_SECONDS if running else None, "already ran this spec")
        return Plan(True, MAX_WAIT_SECONDS, "spec created or changed", now, f"g{generation}")
    last = _time(status.get("lastScheduleTime")) or created
    due = next_tick(spec.schedule, last)
    if due > now:
        wait = min((due - now).total_seconds(), MAX_WAIT_SECONDS)
        return Plan(False, max(wait, 1.0), f"next run at {due.isoformat()}")
    if running:
        return Plan(False, 30.0, "previous sync still running")
    # Missed ticks (operator down) collapse into one run now, like a CronJob's single catch-up.
    latest = due
    while (following := next_tick(spec.schedule, latest)) <= now:
        latest = following
    slot = f"g{generation}-t{latest:%Y%m%dT%H%MZ}"
    return Plan(True, MAX_WAIT_SECONDS, f"scheduled for {latest.isoformat()}", latest, slot)


def idempotency_key(uid: str, slot: str, index: int) -> str:
    """The key of the ``index``-th request of one start (selective syncs send one per entity).

    The resource's uid, not its name: a ZohoSync deleted and created again under the same name
    is another resource and must run.
    """
    return f"zohosync-{uid}-{slot}-r{index}"


def sync_requests(spec: SyncSpec) -> list[dict[str, Any]]:
    """Bodies for ``POST /api/zoho/bulk-sync``."""
    base: dict[str, Any] = {"org_id": spec.organization_id, "mode": spec.mode}
    if spec.mode == "selective":
        return [{**base, "entities": [entity], "ids": spec.ids or []} for entity in spec.entities]
    return [{**base, "entities": list(spec.entities)}]


def status_from_runs(runs: Sequence[Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    """The status patch for the runs of the latest sync (as ``GET /api/zoho/sync/runs/{id}``)."""
    statuses = [str(run.get("status")) for run in runs]
    if not runs:
        phase: Phase = "Pending"
    elif any(s in ("failed", "cancelled", HELD) for s in statuses) and all(
        s in ("completed", "failed", "cancelled", HELD) for s in statuses
    ):
        # A held sweep ended the run without its deletions: not a success, and not "still
        # running" either (the schedule goes on while it waits for a person).
        phase = "Failed"
    elif all(s == "completed" for s in statuses):
        phase = "Succeeded"
    else:
        phase = "Running"
    progress = [run_progress(run) for run in runs]
    processed = sum(int(run.get("processed_items") or 0) for run in runs)
    total = sum(int(run.get("total_items") or 0) for run in runs)
    pages = sum(p["pages"] for p in progress)
    pending = [p["detailsPending"] for p in progress if "detailsPending" in p]
    failed = [str(run.get("entity_type")) for run in runs if run.get("status") == "failed"]
    message = (
        f"{statuses.count('completed')}/{len(runs)} runs completed, {processed}/{total} items, "
        f"{pages} pages"
    )
    if pending:
        message += f", {sum(pending)} details pending"
    if failed:
        message += f"; failed: {', '.join(failed)}"
    held = [str(run.get("entity_type")) for run in runs if run.get("status") == HELD]
    if held:
        confirm = "POST /api/zoho/sync/runs/{id}/confirm-sweep"
        message += f"; deletions held until {confirm}: {', '.join(held)}"
    patch: dict[str, Any] = {
        "phase": phase,
        "message": message,
        "records": processed,
        "pages": pages,
        "detailsPending": sum(pending) if pending else None,
        "runs": progress,
        "conditions": [ready_condition(phase == "Succeeded", phase, message, now)],
    }
    if phase == "Succeeded":
        ends = [_time(run.get("completed_at")) for run in runs]
        patch["lastSuccessfulTime"] = max(
            (e for e in ends if e is not None), default=now
        ).isoformat()
    return patch


def ready_condition(ready: bool, reason: str, message: str, now: datetime) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": "True" if ready else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": now.isoformat(),
    }


def run_progress(run: Mapping[str, Any]) -> dict[str, Any]:
    """One run as ``status.runs`` shows it (``kubectl get zohosync -o yaml``)."""
    progress: dict[str, Any] = {
        "runId": str(run.get("id", "")),
        "entity": str(run.get("entity_type", "")),
        "status": str(run.get("status", "")),
        "records": int(run.get("processed_items") or 0),
        "listed": int(run.get("total_items") or 0),
        "pages": pages(run),
        "calls": int(run.get("api_calls") or 0),
    }
    if run.get("details_pending") is not None:
        progress["detailsPending"] = int(run["details_pending"])
    return progress


def pages(run: Mapping[str, Any]) -> int:
    """The page the run's checkpoint reached: its entity's cursor, or one nested in it (the
    checkpoint's shape is :mod:`bulk_sync.cursor`'s)."""
    state = (run.get("checkpoint") or {}).get(str(run.get("entity_type")))
    candidates = [state] + (list(state.values()) if isinstance(state, dict) else [])
    for cursor in candidates:
        if isinstance(cursor, dict) and str(cursor.get("page", "")).isdigit():
            return int(cursor["page"])
    return 0


def _time(value: Any) -> datetime | None:
    return parse_zoho_timestamp(value) if isinstance(value, str) else None
