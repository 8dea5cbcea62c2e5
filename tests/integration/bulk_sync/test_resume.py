"""Crash and resume: the worker is a real process, killed (SIGKILL) and stopped (SIGTERM)
in the middle of a run; the next process resumes from the checkpoint. The final rows equal Zoho's
exactly, and no list page is fetched twice beyond the one in flight at each interruption."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tds_common.settings import TopicSettings
from tests.utils.auth import API_AUTH, API_TOKEN, PROXY_WRITER_TOKEN

from ...conftest import free_port
from .conftest import SCALE
from .helpers import Zoho, wait_runs

PER_PAGE = 20


class Worker:
    """``python -m bulk_sync`` in a process of its own."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.port = int(env["BULK_SYNC_PORT"])
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bulk_sync"],
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            for _ in range(600):
                assert self.process.poll() is None, "the worker process exited"
                try:
                    if (await client.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("the worker never answered /health")

    def log_text(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        self._log.close()
        return code


@pytest.fixture(name="spawn")
def fixture_spawn(
    tmp_path: Path,
    database_url: str,
    kafka_bootstrap: str,
    topics: TopicSettings,
    zoho: Zoho,
    org: str,
) -> Iterator[Any]:
    workers: list[Worker] = []
    group = f"test-bulk-sync-{uuid.uuid4().hex[:8]}"

    def spawn() -> Worker:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BULK_SYNC_", "KAFKA_"))},
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPICS__EVENTS": topics.events,
            "KAFKA_TOPICS__SYNC_REQUESTS": topics.sync_requests,
            "KAFKA_TOPICS__DEAD_LETTERS": topics.dead_letters,
            "ZOHO_PROXY_URL": zoho.proxy_url,
            "ZOHO_ORGANIZATION_ID": org,
            "LOG_JSON": "false",
            "BULK_SYNC_PORT": str(free_port()),
            "BULK_SYNC_CONSUMER__GROUP_ID": group,
            "BULK_SYNC_CONSUMER__SESSION_TIMEOUT_MS": "6000",
            "BULK_SYNC_CONSUMER__POLL_TIMEOUT_MS": "100",
            "BULK_SYNC_SYNC__PER_PAGE": str(PER_PAGE),
            "BULK_SYNC_SHUTDOWN_TIMEOUT_SECONDS": "20",
            "BULK_SYNC_PROXY__TOKEN": PROXY_WRITER_TOKEN,
            "BULK_SYNC_API_TOKENS": API_TOKEN,
        }
        worker = Worker(env, tmp_path, tmp_path / "worker.log")
        workers.append(worker)
        return worker

    yield spawn
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


async def _progress(pool: asyncpg.Pool, run_id: str, at_least: int) -> dict[str, Any]:
    for _ in range(1200):
        row = await pool.fetchrow(
            "SELECT status, processed_items, checkpoint FROM tds_sync_runs WHERE id = $1::uuid",
            run_id,
        )
        assert row is None or row["status"] in ("pending", "running"), row
        if row is not None and row["processed_items"] >= at_least:
            return dict(row)
        await asyncio.sleep(0.02)
    raise AssertionError("the run made no progress")


async def test_killed_and_stopped_runs_resume_from_their_checkpoint(
    spawn: Any, zoho: Zoho, org: str, db_pool: asyncpg.Pool
) -> None:
    first_call = len(zoho.proxy_calls)
    await zoho.sim("PUT", "/_sim/faults", {"latency_seconds": 0.05})
    try:
        worker = spawn()
        await worker.ready()
        async with httpx.AsyncClient(base_url=worker.url, headers=API_AUTH, timeout=30) as api:
            body = {"org_id": org, "mode": "full", "entities": ["customers"]}
            response = await api.post("/api/zoho/bulk-sync", json=body)
            assert response.status_code == 202, response.text
            run_id = response.json()["runs"][0]["id"]
        await _progress(db_pool, run_id, 3 * PER_PAGE)
        assert worker.stop(signal.SIGKILL) == -signal.SIGKILL

        killed = await db_pool.fetchrow(
            "SELECT status, processed_items FROM tds_sync_runs WHERE id = $1::uuid", run_id
        )
        assert killed is not None and killed["status"] == "running"
        assert killed["processed_items"] < SCALE

        worker = spawn()  # waits for the dead member's session to expire, then resumes
        await worker.ready()
        resumed = await _progress(db_pool, run_id, killed["processed_items"] + 3 * PER_PAGE)
        assert resumed["processed_items"] < SCALE
        # Graceful: the page in flight checkpoints, the group is left (uvicorn re-raises the
        # signal after its shutdown, hence -SIGTERM rather than 0).
        assert worker.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
        assert "interrupted; it resumes from its checkpoint" in worker.log_text()
        stopped = await db_pool.fetchrow(
            "SELECT status, processed_items FROM tds_sync_runs WHERE id = $1::uuid", run_id
        )
        assert stopped is not None and stopped["status"] == "running"

        worker = spawn()
        await worker.ready()
        async with httpx.AsyncClient(base_url=worker.url, headers=API_AUTH, timeout=30) as api:
            run = (await wait_runs(api, [run_id]))[0]
    finally:
        await zoho.sim("DELETE", "/_sim/faults")

    assert run["status"] == "completed", run
    assert run["total_items"] == run["processed_items"] == SCALE  # each record handled once
    expected = await zoho.index(org, "customers")
    rows = await db_pool.fetch(
        "SELECT contact_id, zoho_last_modified_time, deleted_at FROM zoho.customers "
        "WHERE org_id = $1",
        org,
    )
    assert {r["contact_id"]: r["zoho_last_modified_time"] for r in rows} == expected
    assert all(r["deleted_at"] is None for r in rows)

    pages = Counter(
        query
        for path, query in zoho.proxy_calls[first_call:]
        if path == "/v1/customers" and "sort_column=last_modified_time" in query
    )
    repeated = sum(count - 1 for count in pages.values())
    assert repeated <= 2, pages  # at most the page in flight at each of the two interruptions
    assert len(pages) >= SCALE // PER_PAGE
