"""``tds`` against the real stack: every service its own process, ``tds`` run as a user would.

A full sync of invoices is followed to its end with ``--follow``; the read commands answer
from the same services; ``tds doctor`` passes on the stack, and fails naming PostgreSQL when it
cannot reach it; a poison event is listed, shown and replayed through the processor's API;
the ERP's writes are listed (bulk-sync's list, paged) and shown; ``tds prune`` applies the
retention the processor was configured with, not what the operator's own environment says.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.conftest import free_port
from tests.e2e.conftest import ORG_ID, Stack
from tests.integration.processor.helpers import publish
from tests.unit.mirror import factories as f

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

CLI_TIMEOUT_SECONDS = 180
WAIT_SECONDS = 60.0
SERVICE_QUEUE_DAYS = 3650
"""The stack's processor keeps finished queue rows ten years; an operator's ``tds`` knows only
the default (14 days)."""


@pytest.fixture(scope="module", name="stack_extra_env")
def fixture_stack_extra_env() -> dict[str, str]:
    return {"PROCESSOR_RETENTION__QUEUE_DAYS": str(SERVICE_QUEUE_DAYS)}


@pytest.fixture(scope="module", name="tds_env")
def fixture_tds_env(stack: Stack) -> dict[str, str]:
    """The whole stack as processes (tests/e2e/conftest.py); the environment for ``tds``, as on
    an operator's laptop: none of the processor's own settings."""
    env = stack.tds_env()
    return {name: value for name, value in env.items() if not name.startswith("PROCESSOR_")}


def tds(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tds_cli", *args],
        env={"PATH": os.environ.get("PATH", ""), "COLUMNS": "250", **env},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
    )


def tds_json(env: dict[str, str], *args: str) -> Any:
    result = tds(env, "-o", "json", *args)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_a_full_sync_followed_to_the_end(tds_env: dict[str, str]) -> None:
    result = tds(
        tds_env,
        "sync",
        "start",
        "--mode",
        "full",
        "--entities",
        "invoices",
        "--follow",
        "--interval",
        "0.5",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "invoices [completed]" in result.stdout
    assert "budget " in result.stdout and "details pending" in result.stdout

    runs = tds_json(tds_env, "runs")
    run = next(r for r in runs if r["entity_type"] == "invoices")
    assert run["status"] == "completed"
    assert run["processed_items"] == 50
    shown = tds_json(tds_env, "run", "show", run["id"])
    assert shown["api_calls"] > 0
    cancel = tds(tds_env, "run", "cancel", run["id"])
    assert cancel.returncode == 1
    assert "ended already" in cancel.stderr + cancel.stdout

    completeness = tds_json(tds_env, "completeness")
    assert completeness["organizations"][ORG_ID]["invoices"]["rows"] == 50
    budget = tds_json(tds_env, "budget")
    assert budget["token"]["state"] == "ok"
    assert any(b["organization_id"] == ORG_ID for b in budget["budgets"])
    stats = tds_json(tds_env, "stats")
    assert set(stats["queue"]) >= {"pending", "completed", "dead_letter"}


def test_doctor_on_the_stack_and_without_postgresql(tds_env: dict[str, str]) -> None:
    healthy = tds(tds_env, "doctor")
    assert healthy.returncode == 0, healthy.stdout
    assert "OK   zoho token" in healthy.stdout

    down = tds(
        {**tds_env, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/tds"}, "doctor"
    )
    assert down.returncode == 1
    (postgres,) = [line for line in down.stdout.splitlines() if " postgres " in f" {line} "]
    assert postgres.startswith("FAIL") and "PostgreSQL unreachable" in postgres


def _until(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until it returns something truthy (a liveness bound, not a speed check)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
    return found


def _queue_row(database_url: str, zoho_id: str) -> dict[str, Any] | None:
    """The invoice's queue row once it is parked (read directly: polling through ``tds`` would
    start a process per look)."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT id, status, retry_count FROM tds_sync_queue WHERE zoho_entity_id = %s "
            "AND status = 'dead_letter'",
            (zoho_id,),
        ).fetchone()


def test_dead_letters_listed_shown_and_replayed(
    tds_env: dict[str, str], stack: Stack, kafka_bootstrap: str
) -> None:
    zoho_id = str(7 * 10**17 + uuid.uuid4().int % 10**17)
    poison = f.envelope("invoices", zoho_id, f.invoice(zoho_id, total="12,5O"), org_id=ORG_ID)
    asyncio.run(publish(kafka_bootstrap, stack.events_topic, [poison]))
    parked = _until(lambda: _queue_row(stack.database_url, zoho_id), "the poison invoice parked")
    queue_id = str(parked["id"])

    listed = tds_json(tds_env, "dlq", "list", "--entity", "invoices", "--limit", "500")
    shown = tds_json(tds_env, "dlq", "show", queue_id)
    dry = tds_json(tds_env, "dlq", "replay", "--queue-id", queue_id, "--dry-run")
    replayed = tds_json(tds_env, "dlq", "replay", "--queue-id", queue_id)
    # Still poison: the processor handles it again and parks it once more.
    again = _until(
        lambda: (row := _queue_row(stack.database_url, zoho_id)) and row["retry_count"] == 1,
        "the replayed invoice handled again",
    )
    unknown = tds(tds_env, "dlq", "replay", "--queue-id", "999999999999")
    nothing = tds(tds_env, "dlq", "replay")

    assert [r["queue_id"] for r in listed if r["zoho_entity_id"] == zoho_id] == [parked["id"]]
    assert shown["status"] == "dead_letter" and "total" in shown["error_message"]
    assert shown["raw_payload"]["total"] == "12,5O"
    assert (dry["replayed"], dry["dry_run"]) == (1, True)
    assert (replayed["selected"], replayed["replayed"], replayed["missing"]) == (1, 1, 0)
    assert replayed["scanned"] == 1  # straight to its offset on the DLQ topic
    assert again
    assert unknown.returncode == 1 and "answered 404: no queue row 999999999999" in unknown.stderr
    assert nothing.returncode == 1 and "answered 422" in nothing.stderr and "all" in nothing.stderr


def _insert_write(database_url: str, key: str) -> int:
    """An applied write (the stack's relay leaves it as it is)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO tds_outbox (org_id, entity, op, local_ref, idempotency_key, payload, "
            "status) VALUES (%s, 'customers', 'create', %s, %s, %s, 'applied') RETURNING id",
            (ORG_ID, key, key, Jsonb({"contact_name": f"TDS CLI {key}"})),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _finished_queue_rows(database_url: str, entity: str, ages_days: list[int]) -> list[int]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return [
            int(row[0])
            for age in ages_days
            if (
                row := conn.execute(
                    "INSERT INTO tds_sync_queue (entity_type, status, queued_at) "
                    "VALUES (%s, 'completed', now() - make_interval(days => %s)) RETURNING id",
                    (entity, age),
                ).fetchone()
            )
        ]


def _queue_ids(database_url: str, entity: str) -> list[int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id FROM tds_sync_queue WHERE entity_type = %s ORDER BY id", (entity,)
        ).fetchall()
    return [int(row[0]) for row in rows]


def test_writes_listed_paged_and_shown_through_bulk_sync(
    tds_env: dict[str, str], stack: Stack
) -> None:
    key = f"e2e-tds-{uuid.uuid4().hex[:12]}"
    older = _insert_write(stack.database_url, f"{key}-a")
    newer = _insert_write(stack.database_url, f"{key}-b")
    # PostgreSQL out of reach: the commands go through bulk-sync's API only.
    env = {**tds_env, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/tds"}

    first_page = tds_json(env, "writes", "--limit", "1", "--before-id", str(newer + 1))
    second_page = tds_json(env, "writes", "--limit", "1", "--before-id", str(newer))
    applied = tds_json(env, "writes", "--status", "applied", "--limit", "500")
    one = tds_json(env, "writes", str(older))
    bad_status = tds(env, "writes", "--status", "done")

    assert [w["id"] for w in first_page] == [newer]
    assert [(w["id"], w["local_ref"]) for w in second_page] == [(older, f"{key}-a")]
    assert {older, newer} <= {w["id"] for w in applied}
    assert {w["status"] for w in applied} == {"applied"}
    assert one["id"] == older and one["entity"] == "customers"
    assert bad_status.returncode == 1 and "bulk-sync answered 422" in bad_status.stderr


def test_prune_applies_the_processors_retention_not_the_clis_environment(
    tds_env: dict[str, str], stack: Stack
) -> None:
    # Finished 30 days ago: past the default age, well within the processor's configured one.
    entity = f"e2e-prune-{uuid.uuid4().hex[:8]}"
    kept, _expired = _finished_queue_rows(stack.database_url, entity, [30, SERVICE_QUEUE_DAYS + 30])

    pruned = tds_json(tds_env, "prune")

    assert _queue_ids(stack.database_url, entity) == [kept]
    assert {"tds_sync_queue", "tds_inbox_events", "tds_outbox", "tds_processor_attempts"} <= set(
        pruned["deleted"]
    )
    assert pruned["days"]["queue_days"] == SERVICE_QUEUE_DAYS
