"""The whole local stack: infrastructure first, then the simulator and the services.

Services are started as ``python -m <package>`` with the environment of ``.env.example``
overridden by ``.env`` and the process environment. A service whose package has no entry point
yet is reported as "not built yet" rather than failing the stack.
"""

from __future__ import annotations

import asyncio
import fcntl
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dotenv import dotenv_values

from devstack import jaeger, kafka, postgres, processes, prometheus
from devstack.paths import log_dir, repo_root, state_dir
from devstack.tokens import service_token_env


@dataclass(frozen=True)
class Component:
    name: str
    module: str
    port: int
    metrics: bool = True
    """Serves ``GET /metrics`` (Prometheus scrapes it as the job ``name``)."""

    @property
    def built(self) -> bool:
        try:
            return importlib.util.find_spec(f"{self.module}.__main__") is not None
        except ModuleNotFoundError:  # the package itself is not installed
            return False


APPS: Final = (
    Component("zoho-sim", "zoho_sim", 8090, metrics=False),
    Component("zoho-proxy", "zoho_proxy", 8004),
    Component("ingest", "ingest", 8001),
    Component("processor", "processor", 8002),
    Component("bulk-sync", "bulk_sync", 8003),
)
APP_START_TIMEOUT_SECONDS: Final = 60.0


def stack_env() -> dict[str, str]:
    """``.env.example`` < the generated service tokens < ``.env`` < the process environment."""
    root = repo_root()
    merged: dict[str, str] = {}
    example = root / ".env.example"
    if example.exists():
        merged.update({k: v for k, v in dotenv_values(example).items() if v is not None})
    merged.update(service_token_env())
    local = root / ".env"
    if local.exists():
        merged.update({k: v for k, v in dotenv_values(local).items() if v is not None})
    merged.update(os.environ)
    return merged


def start_infra() -> dict[str, bool]:
    """Start PostgreSQL (migrated) and Kafka (with the contract's topics); returns who started."""
    from tds_common.kafka import (
        DEFAULT_EVENTS_PARTITIONS,
        ensure_topics,
        topic_configs,
        topic_partitions,
    )
    from tds_common.migrate import apply_migrations
    from tds_common.settings import KafkaSettings, TopicSettings

    pg_config = postgres.PostgresConfig()
    kafka_config = kafka.KafkaConfig()
    started = {"postgres": postgres.start(pg_config), "kafka": kafka.start(kafka_config)}
    env = stack_env()
    # As the schema's owner; the services then log in as the runtime role (DATABASE_URL).
    migration_url = env.get("TDS_MIGRATION_DATABASE_URL", pg_config.url())
    postgres.ensure_runtime_login(migration_url)  # also for a server started before it existed
    apply_migrations(migration_url)
    partitions = int(env.get("KAFKA_EVENTS_PARTITIONS", DEFAULT_EVENTS_PARTITIONS))
    asyncio.run(
        ensure_topics(
            kafka_config.bootstrap,
            topic_partitions(TopicSettings(), partitions),
            # One local broker: the durability .env.example's KAFKA__* settings expect.
            kafka=KafkaSettings(
                replication_factor=int(env.get("KAFKA__REPLICATION_FACTOR", "1")),
                min_insync_replicas=int(env.get("KAFKA__MIN_INSYNC_REPLICAS", "1")),
            ),
            configs=topic_configs(TopicSettings()),
        )
    )
    return started


def start_jaeger() -> str:
    """Jaeger receiving the services' spans; a state word (optional: without it, no export)."""
    return jaeger.start(jaeger.JaegerConfig())


def apps_env() -> dict[str, str]:
    """The services' environment: the stack's, exporting traces to the local Jaeger when it
    runs and no other endpoint is configured."""
    env = stack_env()
    config = jaeger.JaegerConfig()
    if not env.get("OTEL_EXPORTER_OTLP_ENDPOINT") and jaeger.running(config):
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = config.otlp_endpoint
    return env


def start_apps() -> dict[str, str]:
    """Start every built service that is not running; returns a state word per component."""
    env = apps_env()
    states: dict[str, str] = {}
    for app in APPS:
        if not app.built:
            states[app.name] = "not built yet"
            continue
        if processes.read_pid(app.name) is not None or processes.port_open(app.port):
            states[app.name] = "already up"
            continue
        pid = processes.start_background(
            app.name, [sys.executable, "-m", app.module], env=env, cwd=repo_root()
        )
        try:
            processes.wait_for_port(
                app.port, timeout=APP_START_TIMEOUT_SECONDS, name=app.name, pid=pid
            )
        except RuntimeError as exc:
            # One broken service should not hide the others; the log says why.
            processes.stop(app.name)
            states[app.name] = f"FAILED: {exc}"
            continue
        states[app.name] = "started"
    return states


def start_prometheus() -> str:
    """Prometheus scraping every service that serves metrics; a state word (it is optional)."""
    targets = {app.name: f"127.0.0.1:{app.port}" for app in APPS if app.metrics}
    return prometheus.start(prometheus.PrometheusConfig(), targets)


def stop_all() -> list[str]:
    """Stop everything ``up`` started, services first; returns the names that were running."""
    stopped = ["prometheus"] if prometheus.stop(prometheus.PrometheusConfig()) else []
    stopped += [app.name for app in reversed(APPS) if processes.stop(app.name)]
    if jaeger.stop(jaeger.JaegerConfig()):  # after the services: they flush their spans on exit
        stopped.append("jaeger")
    if kafka.stop(kafka.KafkaConfig()):
        stopped.append("kafka")
    if postgres.stop(postgres.PostgresConfig()):
        stopped.append("postgres")
    return stopped


STACK_USERS_LOCK: Final = "stack-users.lock"
"""Every pytest session holds this file (in the state folder) locked shared while it runs."""


def reset() -> list[Path]:
    """Stop the stack, then delete its data: the database cluster, the broker's topics,
    Prometheus's and Jaeger's stores and the logs. Built tools and downloads stay. Returns the
    folders removed. Refuses, removing nothing, while a test session runs against the stack or
    another program answers on one of its ports."""
    with (state_dir() / STACK_USERS_LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError("a test session is using the stack; nothing was removed") from None
        stop_all()
        answering = [name for name, _, port, up in status() if up]
        if answering:
            raise RuntimeError(
                f"still answering: {', '.join(answering)} (not started by make up); "
                "stop it first, nothing was removed"
            )
        folders = [
            postgres.PostgresConfig().home,
            kafka.KafkaConfig().data,
            prometheus.PrometheusConfig().home,
            jaeger.JaegerConfig().home,
            log_dir(),
        ]
        removed = [folder for folder in folders if folder.exists()]
        for folder in removed:
            shutil.rmtree(folder)
        return removed


def status() -> list[tuple[str, int | None, int, bool]]:
    """(name, tracked pid, port, port answering) for every component."""
    rows = [
        ("postgres", processes.read_pid("postgres"), postgres.PostgresConfig().port),
        ("kafka", processes.read_pid("kafka"), kafka.KafkaConfig().port),
        *((app.name, processes.read_pid(app.name), app.port) for app in APPS),
        ("prometheus", processes.read_pid("prometheus"), prometheus.PrometheusConfig().port),
        ("jaeger", processes.read_pid(jaeger.NAME), jaeger.JaegerConfig().ui_port),
    ]
    return [(name, pid, port, processes.port_open(port)) for name, pid, port in rows]
