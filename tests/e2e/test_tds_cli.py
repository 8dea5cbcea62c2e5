"""``tds`` against the real stack: every service its own process, ``tds`` run as a user would.

A full sync of invoices is followed to its end with ``--follow``; the read commands answer
from the same services; ``tds doctor`` passes on the stack, and fails naming PostgreSQL when it
cannot reach it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.conftest import ORG_ID, Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

CLI_TIMEOUT_SECONDS = 180


@pytest.fixture(scope="module", name="tds_env")
def fixture_tds_env(stack: Stack) -> dict[str, str]:
    """The whole stack as processes (tests/e2e/conftest.py); the environment for ``tds``."""
    return stack.tds_env()


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
        tds_env, "sync", "start", "--mode", "full", "--entities", "invoices", "--follow",
        "--interval", "0.5",
    )  # fmt: skip
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

    down = tds({**tds_env, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/tds"},
               "doctor")  # fmt: skip
    assert down.returncode == 1
    (postgres,) = [line for line in down.stdout.splitlines() if " postgres " in f" {line} "]
    assert postgres.startswith("FAIL") and "PostgreSQL unreachable" in postgres
