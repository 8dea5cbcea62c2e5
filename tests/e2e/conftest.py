"""The whole system as separate processes, driven from outside like a user would.

The simulator, zoho-proxy, ingest, processor and bulk-sync run as ``python -m <package>`` on free
ports, against the real Kafka (fresh topics) and the session's migrated PostgreSQL database.

Starting a stack is five Python start-ups (10-25 s on two busy cores), so the modules whose tests
touch only records, ids and traces of their own share one (``shared_stack``, exporting traces to
a Jaeger of its own, stopped after the last e2e test); a module whose assertions count what the
whole stack did (``tds`` following a full sync, Prometheus's event-only panels) or that runs the
services differently (``stack_extra_env``) starts its own with ``stack``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from devstack import jaeger
from devstack.paths import log_dir
from tds_common.kafka import ensure_topics, topic_configs
from tds_common.settings import TopicSettings
from tests.conftest import free_port
from tests.secret_scan import SCAN
from tests.utils.auth import API_TOKEN, PROXY_READER_TOKEN, PROXY_WRITER_TOKEN
from tests.utils.kafka import CREATED_TOPICS, SINGLE_BROKER
from tests.utils.polling import wait_ready
from tests.utils.processes import stop_process
from tests.utils.zoho import ENCRYPTION_KEY
from zoho_sim.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

START_TIMEOUT_SECONDS = 60.0
WEBHOOK_SECRET = SCAN.register_secret("e2e-webhook-secret-0123456789")
ORG_ID = "60000000001"
PROCESSOR_PROXY_TOKEN = SCAN.register_secret("e2e-processor-proxy-token-0123456789")
BULK_SYNC_PROXY_TOKEN = PROXY_WRITER_TOKEN


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _launch(name: str, module: str, port: int, env: dict[str, str]) -> Service:
    """Start a service without waiting for it: the stack's services start side by side."""
    log = log_dir() / f"e2e-{name}-{port}.log"
    SCAN.register_file(log)  # scanned for the test secrets at the end of the session
    process = subprocess.Popen(
        [sys.executable, "-m", module],
        env={**os.environ, "LOG_JSON": "false", **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Service(name, f"http://127.0.0.1:{port}", process, log)


def _until_ready(service: Service) -> None:
    wait_ready(
        f"{service.url}/ready",
        what=service.name,
        limit_seconds=START_TIMEOUT_SECONDS,
        process=service.process,
        log=service.log,
    )


def _keep_metrics_page(service: Service) -> None:
    """The service's /metrics as it ends, for the session's scan for the test secrets."""
    try:
        page = httpx.get(f"{service.url}/metrics", timeout=5.0)
    except httpx.HTTPError:
        return  # it died already; its log file still tells
    SCAN.register_page(f"/metrics of e2e {service.name}", page.text)


@dataclass
class Stack:
    sim: Service
    proxy: Service
    ingest: Service
    processor: Service
    bulk_sync: Service
    database_url: str
    events_topic: str
    env: dict[str, str]
    """The settings every service shares (database, Kafka, topics, organization)."""

    def tds_env(self) -> dict[str, str]:
        """The environment the ``tds`` command needs to reach this stack."""
        return {
            **self.env,
            "TDS_INGEST_URL": self.ingest.url,
            "TDS_PROCESSOR_URL": self.processor.url,
            "TDS_BULK_SYNC_URL": self.bulk_sync.url,
            "ZOHO_PROXY_URL": self.proxy.url,
            "TDS_API_TOKEN": API_TOKEN,
        }


@contextmanager
def running_stack(
    database_url: str, kafka_bootstrap: str, extra_env: dict[str, str]
) -> Iterator[Stack]:
    """A whole stack on fresh topics, ``extra_env`` on top of every service's settings."""
    suffix = uuid.uuid4().hex[:10]
    names = TopicSettings(
        events=f"e2e.{suffix}.events",
        sync_requests=f"e2e.{suffix}.sync.requests",
        dead_letters=f"e2e.{suffix}.events.dlq",
    )
    partitions = {names.events: 3, names.sync_requests: 1, names.dead_letters: 1}
    CREATED_TOPICS.extend(partitions)
    asyncio.run(
        ensure_topics(
            kafka_bootstrap, partitions, kafka=SINGLE_BROKER, configs=topic_configs(names)
        )
    )
    topics = {
        "KAFKA_TOPICS__EVENTS": names.events,
        "KAFKA_TOPICS__SYNC_REQUESTS": names.sync_requests,
        "KAFKA_TOPICS__DEAD_LETTERS": names.dead_letters,
    }
    ports = {name: free_port() for name in ("sim", "proxy", "ingest", "processor", "bulk")}
    sim_url = f"http://127.0.0.1:{ports['sim']}"
    common = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "ZOHO_ORGANIZATION_ID": ORG_ID,
        **topics,
        **extra_env,
    }
    started: list[Service] = []
    try:
        # Launched side by side, then awaited: none needs another to be ready to start (each
        # one's readiness is its own database and Kafka), and five Python start-ups one after
        # the other were most of a module's setup.
        # A credential of this stack's own. zoho-proxy keeps its access token in the database
        # under the credential, and the session's stacks share one database: with a common
        # credential a stack's proxy first sent the token another stack's simulator had minted
        # (a 401, a refresh, a retry counted on the dashboards).
        refresh_token = SCAN.register_secret(
            f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        )
        sim = _launch(
            "zoho-sim",
            "zoho_sim",
            ports["sim"],
            {
                "ZOHO_SIM_PORT": str(ports["sim"]),
                "ZOHO_SIM_DEFAULT_SCALE": "50",
                "ZOHO_SIM_OAUTH__REFRESH_TOKEN": refresh_token,
            },
        )
        started.append(sim)
        proxy = _launch(
            "zoho-proxy",
            "zoho_proxy",
            ports["proxy"],
            {
                **common,
                "ZOHO_PROXY_PORT": str(ports["proxy"]),
                # The simulator's published client, and this stack's own refresh token.
                "ZOHO_CLIENT_ID": DEFAULT_CLIENT_ID,
                "ZOHO_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
                "ZOHO_REFRESH_TOKEN": refresh_token,
                "ZOHO_ACCOUNTS_URL": sim_url,
                "ZOHO_API_BASE_URL": sim_url,
                "ZOHO_PROXY_TOKEN_ENCRYPTION_KEY": ENCRYPTION_KEY,
                # One token per caller: the processor reads, bulk-sync (write-back) writes too,
                # the tds command and the tests' own clients read.
                "ZOHO_PROXY_CLIENT_TOKENS": ",".join(
                    (PROCESSOR_PROXY_TOKEN, PROXY_READER_TOKEN, API_TOKEN)
                ),
                "ZOHO_PROXY_WRITER_TOKENS": BULK_SYNC_PROXY_TOKEN,
            },
        )
        started.append(proxy)
        ingest = _launch(
            "ingest",
            "ingest",
            ports["ingest"],
            {**common, "INGEST_PORT": str(ports["ingest"]), "WEBHOOK_SECRETS": WEBHOOK_SECRET},
        )
        started.append(ingest)
        processor = _launch(
            "processor",
            "processor",
            ports["processor"],
            {
                **common,
                "PROCESSOR_PORT": str(ports["processor"]),
                "ZOHO_PROXY_URL": proxy.url,
                "PROCESSOR_CONSUMER__GROUP_ID": f"e2e-{suffix}",
                "PROCESSOR_PROXY__TOKEN": PROCESSOR_PROXY_TOKEN,
                "PROCESSOR_API_TOKENS": API_TOKEN,
            },
        )
        started.append(processor)
        bulk_sync = _launch(
            "bulk-sync",
            "bulk_sync",
            ports["bulk"],
            {
                **common,
                "BULK_SYNC_PORT": str(ports["bulk"]),
                "ZOHO_PROXY_URL": proxy.url,
                "BULK_SYNC_CONSUMER__GROUP_ID": f"e2e-bulk-{suffix}",
                "BULK_SYNC_PROXY__TOKEN": BULK_SYNC_PROXY_TOKEN,
                "BULK_SYNC_API_TOKENS": API_TOKEN,
            },
        )
        started.append(bulk_sync)
        for service in started:
            _until_ready(service)
        httpx.put(
            f"{sim.url}/_sim/webhooks",
            json={
                "url_template": f"{ingest.url}/api/zoho/webhooks/{{entity}}?op={{event}}",
                "headers": {"X-TDS-Webhook-Token": WEBHOOK_SECRET},
                "events": ["create", "edit", "delete"],
            },
        ).raise_for_status()
        yield Stack(sim, proxy, ingest, processor, bulk_sync, database_url, names.events, common)
    finally:
        for service in started:
            _keep_metrics_page(service)
        for service in reversed(started):
            service.process.terminate()
        for service in started:
            try:
                service.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.process.kill()


@pytest.fixture(scope="module", name="stack_extra_env")
def fixture_stack_extra_env() -> dict[str, str]:
    """Settings every service of the module's own stack gets on top; a test module overrides
    this fixture to run its stack differently."""
    return {}


@pytest.fixture(scope="module", name="stack")
def fixture_stack(
    database_url: str, kafka_bootstrap: str, stack_extra_env: dict[str, str]
) -> Iterator[Stack]:
    """A stack of the module's own."""
    with running_stack(database_url, kafka_bootstrap, stack_extra_env) as stack:
        yield stack


def _until_jaeger_up(
    config: jaeger.JaegerConfig, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + jaeger.START_TIMEOUT_SECONDS
    while not jaeger.running(config):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Jaeger did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="package", name="jaeger_config")
def fixture_jaeger_config(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[jaeger.JaegerConfig]:
    """Jaeger v2 (``make jaeger``) on free ports, receiving the shared stack's traces."""
    binary = jaeger.binary()
    if binary is None:
        pytest.fail("Jaeger is not built: make jaeger (make test builds it before pytest)")
    config = jaeger.JaegerConfig(
        otlp_http_port=free_port(),
        otlp_grpc_port=free_port(),
        ui_port=free_port(),
        query_grpc_port=free_port(),
        name=f"e2e-jaeger-{secrets.token_hex(4)}",
    )
    home = tmp_path_factory.mktemp("jaeger")
    config_file = home / "config.yaml"  # in the test's folder, not one left in .local/
    config_file.write_text(yaml.safe_dump(jaeger.collector_config(config), sort_keys=False))
    log = log_dir() / f"{config.name}.log"
    process = subprocess.Popen(
        jaeger.command(binary, config_file), stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        _until_jaeger_up(config, process, log)
        yield config
    finally:
        stop_process(process)


@pytest.fixture(scope="package", name="shared_stack")
def fixture_shared_stack(
    database_url: str, kafka_bootstrap: str, jaeger_config: jaeger.JaegerConfig
) -> Iterator[Stack]:
    """One stack for every e2e module that asks for it, stopped after the last e2e test."""
    # Short export batches, so a trace is complete in Jaeger soon after the work is done.
    tracing = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": jaeger_config.otlp_endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    with running_stack(database_url, kafka_bootstrap, tracing) as stack:
        yield stack
