"""kopf handlers of the ZohoSync operator: thin, every decision is in :mod:`bulk_sync.reconcile`.

Run: ``kopf run --standalone -m bulk_sync.handlers`` (the chart's operator Deployment). On
create, spec change, resume and a timer, a ZohoSync is reconciled: the status of its last sync is
refreshed from bulk-sync's API, and a new sync is requested with ``POST /api/zoho/bulk-sync``
when :func:`bulk_sync.reconcile.plan` says so. The operator talks to nothing but that API.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import kopf
from pydantic import ValidationError

from bulk_sync.reconcile import (
    InvalidScheduleError,
    SyncSpec,
    plan,
    status_from_runs,
    sync_requests,
)
from bulk_sync.settings import OperatorSettings

logger = logging.getLogger(__name__)

GROUP: Final = "tds.dev"
VERSION: Final = "v1alpha1"
PLURAL: Final = "zohosyncs"
RETRY_SECONDS: Final = 30.0


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    operator = OperatorSettings()
    settings.posting.level = logging.WARNING  # Kubernetes events for warnings and errors only
    settings.watching.server_timeout = 270
    memo["operator"] = operator
    memo["api"] = httpx.AsyncClient(base_url=operator.api_url, timeout=operator.api_timeout_seconds)


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    api: httpx.AsyncClient = memo["api"]
    await api.aclose()


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
@kopf.on.resume(GROUP, VERSION, PLURAL)
async def on_spec(
    spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, patch: kopf.Patch, memo: kopf.Memo,
    **_: Any,
) -> None:  # fmt: skip
    """A ZohoSync appeared or changed: run it now unless it is scheduled or suspended."""
    await reconcile(memo["api"], dict(spec), dict(status), dict(meta), patch.status)


@kopf.timer(GROUP, VERSION, PLURAL, interval=30.0, initial_delay=5.0, idle=5.0)
async def on_timer(
    spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, patch: kopf.Patch, memo: kopf.Memo,
    **_: Any,
) -> None:  # fmt: skip
    """Scheduled runs and the status of the last sync."""
    await reconcile(memo["api"], dict(spec), dict(status), dict(meta), patch.status)


async def reconcile(
    api: httpx.AsyncClient,
    spec: dict[str, Any],
    status: dict[str, Any],
    meta: dict[str, Any],
    status_patch: Any,
    now: datetime | None = None,
) -> None:
    """Refresh the last sync's status, then start a new one if due; writes into ``status_patch``."""
    now = now or datetime.now(UTC)
    try:
        sync = SyncSpec.model_validate(spec)
    except ValidationError as exc:
        raise kopf.PermanentError(f"invalid spec: {exc.errors()[0]['msg']}") from exc
    current = dict(status)
    run_ids = [str(i) for i in current.get("lastRunIds") or ()]
    if run_ids:
        runs = [await _get(api, f"/api/zoho/sync/runs/{run_id}") for run_id in run_ids]
        refreshed = status_from_runs(runs, now)
        current.update(refreshed)
        status_patch.update(refreshed)
    created = datetime.fromisoformat(str(meta["creationTimestamp"]).replace("Z", "+00:00"))
    try:
        decision = plan(sync, current, generation=int(meta.get("generation") or 1),
                        created=created, now=now)  # fmt: skip
    except InvalidScheduleError as exc:
        raise kopf.PermanentError(str(exc)) from exc
    if sync.suspend:
        status_patch["phase"] = "Suspended"
    if not decision.start:
        return
    started: list[str] = []
    for body in sync_requests(sync):
        answer = await _post(api, "/api/zoho/bulk-sync", body)
        started.extend(str(run["id"]) for run in answer.get("runs", ()))
    status_patch.update(
        {
            "phase": "Running",
            "lastRunId": started[0] if started else "",
            "lastRunIds": started,
            "observedGeneration": int(meta.get("generation") or 1),
            "message": f"{decision.reason}: {len(started)} runs requested",
        }
    )
    if sync.schedule and decision.scheduled_for is not None:
        status_patch["lastScheduleTime"] = decision.scheduled_for.isoformat()
    logger.info("requested %d runs (%s)", len(started), decision.reason)


async def _get(api: httpx.AsyncClient, path: str) -> dict[str, Any]:
    return _body(await _call(api, "GET", path, None), path)


async def _post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return _body(await _call(api, "POST", path, body), path)


async def _call(
    api: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> httpx.Response:
    try:
        return await api.request(method, path, json=body)
    except httpx.TransportError as exc:
        raise kopf.TemporaryError(f"bulk-sync API unreachable: {type(exc).__name__}",
                                  delay=RETRY_SECONDS) from exc  # fmt: skip


def _body(response: httpx.Response, path: str) -> dict[str, Any]:
    if response.status_code >= 500 or response.status_code == 429:
        raise kopf.TemporaryError(f"bulk-sync API answered {response.status_code} for {path}",
                                  delay=RETRY_SECONDS)  # fmt: skip
    if response.status_code >= 400:
        raise kopf.PermanentError(
            f"bulk-sync API refused {path} ({response.status_code}): {response.text[:200]}"
        )
    body = response.json()
    if not isinstance(body, dict):
        raise kopf.TemporaryError(f"bulk-sync API answered no object for {path}",
                                  delay=RETRY_SECONDS)  # fmt: skip
    return body
