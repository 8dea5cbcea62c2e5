"""A ZohoSync whose run holds its deletion sweep: not succeeded, not running (schedules go on)."""

from __future__ import annotations

from datetime import UTC, datetime

from bulk_sync.reconcile import SyncSpec, plan, status_from_runs

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def test_a_held_sweep_is_a_failed_phase_that_names_the_entity_and_the_way_out() -> None:
    runs = [
        {"status": "completed", "entity_type": "invoices"},
        {"status": "needs_confirmation", "entity_type": "customers"},
    ]
    status = status_from_runs(runs, NOW)
    assert status["phase"] == "Failed"
    assert status["conditions"][0]["status"] == "False"
    assert "confirm-sweep: customers" in status["message"]


def test_a_held_sweep_does_not_block_the_next_scheduled_sync() -> None:
    spec = SyncSpec.model_validate(
        {"organizationId": "60000000001", "entities": ["customers"], "schedule": "@hourly"}
    )
    status = {
        **status_from_runs([{"status": "needs_confirmation"}], NOW),
        "lastRunIds": ["r1"],
        "lastScheduleTime": "2026-06-01T01:00:00+00:00",
    }
    decision = plan(spec, status, generation=1, created=NOW, now=NOW)
    assert decision.start, decision
