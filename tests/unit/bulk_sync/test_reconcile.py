"""The operator's decisions (pure) and its handler against a fake bulk-sync API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bulk_sync.handlers import reconcile
from bulk_sync.reconcile import (
    InvalidScheduleError,
    SyncSpec,
    next_tick,
    plan,
    status_from_runs,
    sync_requests,
)

CREATED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def spec(**fields: Any) -> SyncSpec:
    return SyncSpec.model_validate(
        {"organizationId": "60000000001", "entities": ["invoices"], **fields}
    )


def test_unscheduled_syncs_run_once_per_generation() -> None:
    first = plan(spec(), {}, generation=1, created=CREATED, now=CREATED)
    assert first.start and first.scheduled_for == CREATED
    again = plan(spec(), {"observedGeneration": 1}, generation=1, created=CREATED, now=CREATED)
    assert not again.start
    changed = plan(spec(), {"observedGeneration": 1}, generation=2, created=CREATED, now=CREATED)
    assert changed.start
    assert not plan(spec(suspend=True), {}, generation=1, created=CREATED, now=CREATED).start


def test_scheduled_syncs_run_at_each_tick_never_twice_or_overlapping() -> None:
    nightly = spec(schedule="0 3 * * *", mode="full")
    before = plan(nightly, {}, generation=1, created=CREATED, now=CREATED + timedelta(minutes=30))
    assert not before.start and 1 <= (before.wait_seconds or 0) <= 300
    at_three = CREATED + timedelta(hours=1, seconds=5)
    due = plan(nightly, {}, generation=1, created=CREATED, now=at_three)
    assert due.start and due.scheduled_for == datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
    done = {"lastScheduleTime": "2026-06-01T03:00:00+00:00", "phase": "Succeeded"}
    assert not plan(nightly, done, generation=1, created=CREATED, now=at_three).start
    busy = {
        "lastScheduleTime": "2026-05-31T03:00:00+00:00",
        "phase": "Running",
        "lastRunIds": ["r"],
    }
    assert not plan(nightly, busy, generation=1, created=CREATED, now=at_three).start
    # Three missed nights collapse into one catch-up run for the latest tick.
    late = plan(
        nightly,
        {"lastScheduleTime": "2026-06-01T03:00:00+00:00"},
        generation=1,
        created=CREATED,
        now=datetime(2026, 6, 4, 9, 0, tzinfo=UTC),
    )
    assert late.start and late.scheduled_for == datetime(2026, 6, 4, 3, 0, tzinfo=UTC)


def test_schedules_accept_aliases_and_reject_junk() -> None:
    assert next_tick("@hourly", CREATED) == CREATED + timedelta(hours=1)
    assert next_tick("15 * * * *", CREATED) == CREATED + timedelta(minutes=15)
    with pytest.raises(InvalidScheduleError):
        next_tick("every night", CREATED)


def test_requests_split_selective_syncs_per_entity() -> None:
    full = spec(entities=["products", "stock"], mode="full")
    assert sync_requests(full) == [
        {"org_id": "60000000001", "mode": "full", "entities": ["products", "stock"]}
    ]
    selective = spec(entities=["invoices", "bills"], mode="selective", ids=["1", "2"])
    assert [r["entities"] for r in sync_requests(selective)] == [["invoices"], ["bills"]]
    assert all(r["ids"] == ["1", "2"] for r in sync_requests(selective))


def test_status_follows_the_runs() -> None:
    now = CREATED
    running = status_from_runs(
        [
            {"status": "completed", "processed_items": 5, "total_items": 5},
            {"status": "running", "processed_items": 1, "total_items": 9},
        ],
        now,
    )
    assert running["phase"] == "Running" and "6/14 items" in running["message"]
    assert running["conditions"][0]["status"] == "False"
    ok = status_from_runs(
        [{"status": "completed", "completed_at": "2026-06-01T03:05:00+00:00"}], now
    )
    assert ok["phase"] == "Succeeded" and ok["lastSuccessfulTime"] == "2026-06-01T03:05:00+00:00"
    failed = status_from_runs(
        [{"status": "completed"}, {"status": "failed", "entity_type": "bills"}], now
    )
    assert failed["phase"] == "Failed" and "failed: bills" in failed["message"]


async def test_handler_posts_a_request_and_records_the_runs() -> None:
    posted: list[dict[str, Any]] = []

    def api(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posted.append(json.loads(request.content))
            return httpx.Response(202, json={"runs": [{"id": "run-1"}, {"id": "run-2"}]})
        run_id = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, json={"id": run_id, "status": "completed"})

    meta = {"creationTimestamp": "2026-06-01T02:00:00Z", "generation": 3, "uid": "u-1"}
    body = {"organizationId": "60000000001", "entities": ["invoices", "bills"], "mode": "full"}
    async with httpx.AsyncClient(transport=httpx.MockTransport(api), base_url="http://b") as client:
        patch: dict[str, Any] = {}
        await reconcile(client, body, {}, meta, patch, now=CREATED)
        assert posted == [
            {
                "org_id": "60000000001",
                "mode": "full",
                "entities": ["invoices", "bills"],
                "idempotency_key": "zohosync-u-1-g3-r0",
            }
        ]
        assert patch["lastRunIds"] == ["run-1", "run-2"] and patch["observedGeneration"] == 3
        assert patch["phase"] == "Running" and "lastScheduleTime" not in patch

        later: dict[str, Any] = {}
        await reconcile(client, body, patch, meta, later, now=CREATED)
        assert later["phase"] == "Succeeded" and len(posted) == 1  # refreshed, not re-run

        refused: dict[str, Any] = {}
        notices = await reconcile(client, {"entities": []}, {}, meta, refused, now=CREATED)
        assert refused["phase"] == "Failed" and "invalid spec" in refused["message"]
        assert [(n.type, n.reason) for n in notices] == [("Warning", "InvalidSpec")]
        assert len(posted) == 1
