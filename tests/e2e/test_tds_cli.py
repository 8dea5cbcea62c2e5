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
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tds_common.kafka import ensure_topics, topic_configs
from tds_common.settings import TopicSettings
from tests.conftest import free_port
from tests.e2e.conftest import ORG_ID, Service, _start
from zoho_sim.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

CLI_TIMEOUT_SECONDS = 180


@pytest.fixture(scope="module", name="tds_env")
def fixture_tds_env(database_url: str, kafka_bootstrap: str) -> Iterator[dict[str, str]]:
    """sim, zoho-proxy, ingest, processor and bulk-sync; yields the environment for ``tds``."""
    import asyncio

    suffix = uuid.uuid4().hex[:10]
    topics = TopicSettings(
        events=f"cli.{suffix}.events",
        sync_requests=f"cli.{suffix}.sync.requests",
        dead_letters=f"cli.{suffix}.events.dlq",
    )
    asyncio.run(
        ensure_topics(
            kafka_bootstrap,
            {topics.events: 3, topics.sync_requests: 1, topics.dead_letters: 1},
            configs=topic_configs(topics),
        )
    )
    topic_env = {
        "KAFKA_TOPICS__EVENTS": topics.events,
        "KAFKA_TOPICS__SYNC_REQUESTS": topics.sync_requests,
        "KAFKA_TOPICS__DEAD_LETTERS": topics.dead_letters,
    }
    common = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "ZOHO_ORGANIZATION_ID": ORG_ID,
        **topic_env,
    }
    ports = {name: free_port() for name in ("sim", "proxy", "ingest", "processor", "bulk")}
    sim_url = f"http://127.0.0.1:{ports['sim']}"
    started: list[Service] = []
    try:
        started.append(
            _start(
                "zoho-sim",
                "zoho_sim",
                ports["sim"],
                {"ZOHO_SIM_PORT": str(ports["sim"]), "ZOHO_SIM_DEFAULT_SCALE": "50"},
            )
        )
        proxy = _start(
            "zoho-proxy",
            "zoho_proxy",
            ports["proxy"],
            {
                **common,
                "ZOHO_PROXY_PORT": str(ports["proxy"]),
                "ZOHO_CLIENT_ID": DEFAULT_CLIENT_ID,
                "ZOHO_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
                "ZOHO_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN,
                "ZOHO_ACCOUNTS_URL": sim_url,
                "ZOHO_API_BASE_URL": sim_url,
                "ZOHO_PROXY_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            },
        )
        started.append(proxy)
        started.append(
            _start(
                "ingest",
                "ingest",
                ports["ingest"],
                {
                    **common,
                    "INGEST_PORT": str(ports["ingest"]),
                    "WEBHOOK_SECRETS": "cli-secret-0123456789",
                },
            )
        )
        started.append(
            _start(
                "processor",
                "processor",
                ports["processor"],
                {
                    **common,
                    "PROCESSOR_PORT": str(ports["processor"]),
                    "ZOHO_PROXY_URL": proxy.url,
                    "PROCESSOR_CONSUMER__GROUP_ID": f"cli-{suffix}",
                },
            )
        )
        started.append(
            _start(
                "bulk-sync",
                "bulk_sync",
                ports["bulk"],
                {
                    **common,
                    "BULK_SYNC_PORT": str(ports["bulk"]),
                    "ZOHO_PROXY_URL": proxy.url,
                    "BULK_SYNC_CONSUMER__GROUP_ID": f"cli-bulk-{suffix}",
                },
            )
        )
        yield {
            **common,
            "TDS_INGEST_URL": f"http://127.0.0.1:{ports['ingest']}",
            "TDS_PROCESSOR_URL": f"http://127.0.0.1:{ports['processor']}",
            "TDS_BULK_SYNC_URL": f"http://127.0.0.1:{ports['bulk']}",
            "ZOHO_PROXY_URL": proxy.url,
        }
    finally:
        for service in reversed(started):
            service.process.terminate()
        for service in started:
            try:
                service.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.process.kill()


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
