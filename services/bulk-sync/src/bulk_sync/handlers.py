"""kopf handlers of the ZohoSync operator: thin, every decision is in :mod:`bulk_sync.reconcile`.

Run: ``kopf run --standalone -m bulk_sync.handlers`` (the chart's operator Deployment). On
create, spec change, resume and a timer, a ZohoSync is reconciled: the status of its last sync is
refreshed from bulk-sync's API, and a new sync is requested with ``POST /api/zoho/bulk-sync``
when :func:`bulk_sync.reconcile.plan` says so. Suspending or deleting it cancels the runs of its
sync still in progress. The operator talks to nothing but that API.

Each request carries an idempotency key made of the resource's uid and the slot it serves
(:func:`bulk_sync.reconcile.idempotency_key`): kopf patches the status only after a handler
returns, so an operator killed between the POST and that patch POSTs again on restart, and
bulk-sync answers the runs the first POST created instead of starting more.

Kubernetes Events (:mod:`bulk_sync.zohosync_events`): sync started, succeeded, failed,
cancelled, and a resource that cannot be served; kopf's own warnings and errors too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import kopf
from pydantic import ValidationError

from bulk_sync import zohosync_events
from bulk_sync.reconcile import (
    ACTIVE,
    InvalidScheduleError,
    SyncSpec,
    idempotency_key,
    plan,
    ready_condition,
    status_from_runs,
    sync_requests,
)
from bulk_sync.settings import OperatorSettings
from bulk_sync.zohosync_events import Notice
from tds_common.auth import bearer_headers
from tds_common.events import parse_zoho_timestamp

logger = logging.getLogger(__name__)

GROUP: Final = "tds.dev"
VERSION: Final = "v1alpha1"
PLURAL: Final = "zohosyncs"
RETRY_SECONDS: Final = 30.0
DELETE_RETRIES: Final = 10
"""Attempts to cancel a deleted resource's runs before its deletion goes ahead anyway (an
unreachable bulk-sync API must not keep a namespace from being deleted for ever)."""
# Read at import: kopf fixes a timer's interval when the module is loaded.
STATUS_REFRESH_SECONDS: Final = OperatorSettings().status_refresh_seconds


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    operator = OperatorSettings()
    # Our Events (kopf.event) always; of the log, only warnings and errors (a handler failing),
    # which kopf posts only with posting.loggers on: posting.level alone posts nothing.
    settings.posting.enabled = True
    settings.posting.loggers = True
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 270
    memo["api"] = httpx.AsyncClient(
        base_url=operator.api_url,
        timeout=operator.api_timeout_seconds,
        headers=bearer_headers(operator.api_token),
    )


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    api: httpx.AsyncClient = memo["api"]
    await api.aclose()


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.timer(
    GROUP,
    VERSION,
    PLURAL,
    id="on_timer",
    interval=STATUS_REFRESH_SECONDS,
    initial_delay=STATUS_REFRESH_SECONDS,
)
async def on_spec(
    body: kopf.Body,
    spec: kopf.Spec,
    status: kopf.Status,
    meta: kopf.Meta,
    patch: kopf.Patch,
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """A ZohoSync appeared or changed (run it now unless it is scheduled or suspended), or its
    timer fired (scheduled runs, the status of the last sync): one reconciliation for both."""
    post(body, await reconcile(memo["api"], dict(spec), dict(status), dict(meta), patch.status))


@kopf.on.delete(GROUP, VERSION, PLURAL, retries=DELETE_RETRIES)
async def on_delete(body: kopf.Body, status: kopf.Status, memo: kopf.Memo, **_: Any) -> None:
    """The resource goes: its sync in progress goes with it (rows written so far stay)."""
    run_ids = [str(i) for i in status.get("lastRunIds") or ()]
    cancelled = await cancel(memo["api"], run_ids)
    if cancelled:
        logger.info("deleted: cancelled runs %s", ", ".join(cancelled))


def post(body: kopf.Body, notices: Sequence[Notice]) -> None:
    for notice in notices:
        kopf.event(body, type=notice.type, reason=notice.reason, message=notice.message)


async def reconcile(
    api: httpx.AsyncClient,
    spec: dict[str, Any],
    status: dict[str, Any],
    meta: dict[str, Any],
    status_patch: Any,
    now: datetime | None = None,
) -> list[Notice]:
    """Refresh, cancel or start as the resource asks; writes into ``status_patch`` and returns
    the Events to post."""
    now = now or datetime.now(UTC)
    try:
        sync = SyncSpec.model_validate(spec)
    except ValidationError as exc:
        message = f"invalid spec: {exc.errors()[0]['msg']}"
        return _refuse(status, status_patch, reason="InvalidSpec", message=message, now=now)
    notices: list[Notice] = []
    current = dict(status)
    run_ids = [str(i) for i in current.get("lastRunIds") or ()]
    if run_ids:
        runs = [await _get(api, f"/api/zoho/sync/runs/{run_id}") for run_id in run_ids]
        if sync.suspend and (active := [str(r["id"]) for r in runs if r.get("status") in ACTIVE]):
            await cancel(api, active)
            notices.append(zohosync_events.cancelled("suspended", active))
            runs = [await _get(api, f"/api/zoho/sync/runs/{run_id}") for run_id in run_ids]
        refreshed = status_from_runs(runs, now)
        if sync.suspend:  # cancelled by request: not a failure
            refreshed["phase"] = refreshed["conditions"][0]["reason"] = "Suspended"
        refreshed = _keep_transition_time(current, refreshed)
        notices.extend(zohosync_events.after_refresh(current, refreshed))
        current.update(refreshed)
        status_patch.update(refreshed)
    created = parse_zoho_timestamp(str(meta["creationTimestamp"])) or now
    generation = int(meta.get("generation") or 1)
    try:
        decision = plan(sync, current, generation=generation, created=created, now=now)
    except InvalidScheduleError as exc:
        return notices + _refuse(current, status_patch, "InvalidSchedule", str(exc), now)
    if sync.suspend:
        status_patch["phase"] = "Suspended"
    if not decision.start:
        return notices
    started: list[str] = []
    uid = str(meta["uid"])  # the API server sets it on every object
    for index, body in enumerate(sync_requests(sync)):
        keyed = {**body, "idempotency_key": idempotency_key(uid, decision.slot, index)}
        answer = await _post(api, "/api/zoho/bulk-sync", keyed)
        started.extend(str(run["id"]) for run in answer.get("runs", ()))
    message = f"{decision.reason}: {len(started)} runs requested"
    status_patch.update(
        {
            "phase": "Running",
            "lastRunId": started[0] if started else "",
            "lastRunIds": started,
            "observedGeneration": generation,
            "message": message,
            "runs": None,  # the previous sync's progress; the next refresh fills it in
            "conditions": [ready_condition(False, "Running", message, now)],
        }
    )
    if sync.schedule and decision.scheduled_for is not None:
        status_patch["lastScheduleTime"] = decision.scheduled_for.isoformat()
    logger.info("requested %d runs (%s)", len(started), decision.reason)
    return [*notices, zohosync_events.started(decision.reason, started)]


def _refuse(
    status: dict[str, Any], status_patch: Any, reason: str, message: str, now: datetime
) -> list[Notice]:
    """A resource the operator cannot serve: say why in its status and one Warning Event."""
    patch = {
        "phase": "Failed",
        "message": message,
        "conditions": [ready_condition(False, reason, message, now)],
    }
    status_patch.update(_keep_transition_time(status, patch))
    return zohosync_events.refused(status, reason, message)


def _keep_transition_time(status: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``lastTransitionTime`` moves only when the condition's status does."""
    before = {c.get("type"): c for c in status.get("conditions") or ()}
    for condition in patch.get("conditions") or ():
        previous = before.get(condition["type"])
        if previous and previous.get("status") == condition["status"]:
            condition["lastTransitionTime"] = previous.get(
                "lastTransitionTime", condition["lastTransitionTime"]
            )
    return patch


async def cancel(api: httpx.AsyncClient, run_ids: Sequence[str]) -> list[str]:
    """Cancel each run; the ones that had ended already (409) or are unknown (404) are left."""
    cancelled = []
    for run_id in run_ids:
        response = await _call(api, "POST", f"/api/zoho/sync/runs/{run_id}/cancel", None)
        if response.status_code in (404, 409):
            continue
        _body(response, f"/api/zoho/sync/runs/{run_id}/cancel")
        cancelled.append(run_id)
    return cancelled


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
        raise kopf.TemporaryError(
            f"bulk-sync API unreachable: {type(exc).__name__}", delay=RETRY_SECONDS
        ) from exc


def _body(response: httpx.Response, path: str) -> dict[str, Any]:
    if response.status_code >= 500 or response.status_code == 429:
        raise kopf.TemporaryError(
            f"bulk-sync API answered {response.status_code} for {path}", delay=RETRY_SECONDS
        )
    if response.status_code >= 400:
        raise kopf.PermanentError(
            f"bulk-sync API refused {path} ({response.status_code}): {response.text[:200]}"
        )
    body = response.json()
    if not isinstance(body, dict):
        raise kopf.TemporaryError(
            f"bulk-sync API answered no object for {path}", delay=RETRY_SECONDS
        )
    return body
