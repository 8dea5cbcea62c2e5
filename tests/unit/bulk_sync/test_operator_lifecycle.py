"""The operator's lifecycle against a fake bulk-sync API: idempotency keys, suspend, Events,
progress in the status, and a schedule cron cannot read.

tests/k8s/test_operator_process.py runs the same handlers as a kopf process against a real API
server, bulk-sync and the simulator.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bulk_sync.handlers import reconcile
from bulk_sync.reconcile import SyncSpec, idempotency_key, plan, status_from_runs

CREATED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
META = {"creationTimestamp": "2026-06-01T02:00:00Z", "generation": 1, "uid": "6f1c-uid"}
SPEC = {"organizationId": "60000000001", "entities": ["customers"], "mode": "full"}


class FakeBulkSync:
    """Runs by id; POST answers one run per request (its status set by the test)."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.cancelled: list[str] = []
        self.runs: dict[str, dict[str, Any]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/zoho/bulk-sync":
            body = json.loads(request.content)
            self.posted.append(body)
            run = {
                "id": f"run-{len(self.runs) + 1}",
                "entity_type": body["entities"][0],
                "status": "pending",
            }
            self.runs[run["id"]] = run
            return httpx.Response(202, json={"runs": [run]})
        run_id = path.split("/")[5]
        run = self.runs[run_id]
        if path.endswith("/cancel"):
            if run["status"] not in ("pending", "running"):
                return httpx.Response(409, json={"error_code": "run_not_running"})
            run["status"] = "cancelled"
            self.cancelled.append(run_id)
        return httpx.Response(200, json=run)


@pytest.fixture(name="fake")
def fixture_fake() -> FakeBulkSync:
    return FakeBulkSync()


@pytest.fixture(name="api")
async def fixture_api(fake: FakeBulkSync) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake), base_url="http://b") as api:
        yield api


def test_keys_name_the_resource_and_the_slot_it_serves() -> None:
    nightly = SyncSpec.model_validate({**SPEC, "schedule": "0 3 * * *"})
    at_three = plan(nightly, {}, generation=2, created=CREATED, now=CREATED + timedelta(hours=1))
    next_night = plan(
        nightly,
        {"lastScheduleTime": "2026-06-01T03:00:00+00:00"},
        generation=2,
        created=CREATED,
        now=CREATED + timedelta(days=1, hours=1),
    )
    assert at_three.slot == "g2-t20260601T0300Z" and next_night.slot == "g2-t20260602T0300Z"
    once = plan(SyncSpec.model_validate(SPEC), {}, generation=4, created=CREATED, now=CREATED)
    assert once.slot == "g4"
    assert idempotency_key("uid-a", "g4", 0) != idempotency_key("uid-b", "g4", 0)
    assert idempotency_key("uid-a", "g4", 0) != idempotency_key("uid-a", "g4", 1)


async def test_a_status_patch_lost_after_the_post_repeats_the_same_key(
    api: httpx.AsyncClient, fake: FakeBulkSync
) -> None:
    """The crash window: the POST happened, the status patch did not; the retry's key is the
    same, so bulk-sync answers the runs it made (tests/integration/bulk_sync/test_idempotency)."""
    await reconcile(api, SPEC, {}, META, {}, now=CREATED)  # its patch is lost
    await reconcile(api, SPEC, {}, META, {}, now=CREATED + timedelta(seconds=40))
    keys = [body["idempotency_key"] for body in fake.posted]
    assert keys == ["zohosync-6f1c-uid-g1-r0"] * 2
    selective = {**SPEC, "mode": "selective", "entities": ["invoices", "bills"], "ids": ["1"]}
    await reconcile(api, selective, {}, {**META, "generation": 2}, {}, now=CREATED)
    assert [body["idempotency_key"] for body in fake.posted[2:]] == [
        "zohosync-6f1c-uid-g2-r0",
        "zohosync-6f1c-uid-g2-r1",
    ]


async def test_a_start_and_its_end_are_events_and_a_steady_state_posts_none(
    api: httpx.AsyncClient, fake: FakeBulkSync
) -> None:
    status: dict[str, Any] = {}
    notices = await reconcile(api, SPEC, status, META, status, now=CREATED)
    assert [(n.type, n.reason) for n in notices] == [("Normal", "SyncStarted")]
    assert "run-1" in notices[0].message
    fake.runs["run-1"].update(
        status="running",
        processed_items=150,
        total_items=200,
        api_calls=3,
        checkpoint={"customers": {"page": 2}},
    )
    notices = await reconcile(api, SPEC, status, META, status, now=CREATED)
    assert notices == [] and status["phase"] == "Running"
    assert status["runs"] == [
        {
            "runId": "run-1",
            "entity": "customers",
            "status": "running",
            "records": 150,
            "listed": 200,
            "pages": 2,
            "calls": 3,
        }
    ]
    assert "150/200 items, 2 pages" in status["message"]
    fake.runs["run-1"].update(
        status="completed", details_pending=7, completed_at="2026-06-01T02:03:00+00:00"
    )
    notices = await reconcile(api, SPEC, status, META, status, now=CREATED)
    assert [(n.type, n.reason) for n in notices] == [("Normal", "SyncSucceeded")]
    assert status["detailsPending"] == 7 and "7 details pending" in notices[0].message
    assert await reconcile(api, SPEC, status, META, status, now=CREATED) == []
    assert len(fake.posted) == 1


async def test_a_failed_sync_is_a_warning_event(api: httpx.AsyncClient, fake: FakeBulkSync) -> None:
    status: dict[str, Any] = {}
    await reconcile(api, SPEC, status, META, status, now=CREATED)
    fake.runs["run-1"]["status"] = "failed"
    notices = await reconcile(api, SPEC, status, META, status, now=CREATED)
    assert [(n.type, n.reason) for n in notices] == [("Warning", "SyncFailed")]
    assert "failed: customers" in notices[0].message


async def test_suspend_cancels_the_sync_in_progress_and_is_no_failure(
    api: httpx.AsyncClient, fake: FakeBulkSync
) -> None:
    status: dict[str, Any] = {}
    await reconcile(api, SPEC, status, META, status, now=CREATED)
    fake.runs["run-1"]["status"] = "running"
    suspended = {**SPEC, "suspend": True}
    meta = {**META, "generation": 2}
    notices = await reconcile(api, suspended, status, meta, status, now=CREATED)
    assert fake.cancelled == ["run-1"]
    assert [(n.type, n.reason) for n in notices] == [("Normal", "SyncCancelled")]
    assert status["phase"] == "Suspended" and status["conditions"][0]["reason"] == "Suspended"
    assert await reconcile(api, suspended, status, meta, status, now=CREATED) == []
    assert fake.cancelled == ["run-1"] and len(fake.posted) == 1


async def test_a_schedule_cron_cannot_read_says_so_in_the_status_once(
    api: httpx.AsyncClient, fake: FakeBulkSync
) -> None:
    february_30th = {**SPEC, "schedule": "0 0 30 2 *"}
    status: dict[str, Any] = {}
    notices = await reconcile(api, february_30th, status, META, status, now=CREATED)
    assert status["phase"] == "Failed"
    ready = status["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSchedule")
    assert "invalid schedule '0 0 30 2 *'" in ready["message"]
    assert [(n.type, n.reason) for n in notices] == [("Warning", "InvalidSchedule")]
    later = CREATED + timedelta(minutes=5)
    assert await reconcile(api, february_30th, status, META, status, now=later) == []
    assert status["conditions"][0]["lastTransitionTime"] == CREATED.isoformat()
    assert fake.posted == []


def test_progress_sums_records_pages_and_details_pending() -> None:
    runs: list[dict[str, Any]] = [
        {
            "id": "a",
            "entity_type": "invoices",
            "status": "running",
            "processed_items": 10,
            "total_items": 20,
            "api_calls": 4,
            "details_pending": 5,
            "checkpoint": {"invoices": {"cursor": {"page": 3}}},
        },
        {"id": "b", "entity_type": "bills", "status": "pending"},
    ]
    status = status_from_runs(runs, CREATED)
    assert (status["records"], status["pages"], status["detailsPending"]) == (10, 3, 5)
    assert [run["pages"] for run in status["runs"]] == [3, 0]
    assert "detailsPending" not in status["runs"][1]
