"""The shared local PostgreSQL and Kafka for code outside pytest (the benches).

The same servers, locks and scratch-database convention as the test fixtures in
``tests/conftest.py``: a user holds a shared lock on ``stack-users.lock`` while it runs, starts a
server under its start lock when none is running, and stops only what it started, and only
when no other user (a pytest session, another bench) still holds the shared lock.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import psycopg
from filelock import FileLock

from devstack import kafka as devkafka
from devstack import postgres as devpg
from devstack.paths import state_dir
from tds_common.migrate import apply_migrations


@dataclass(frozen=True)
class Stack:
    postgres_admin_url: str
    kafka_bootstrap: str


@contextmanager
def shared_stack(*, kafka: bool = True) -> Iterator[Stack]:
    """PostgreSQL (and Kafka) running for the duration; ``TDS_TEST_DATABASE_URL`` /
    ``TDS_TEST_KAFKA_BOOTSTRAP`` name servers of your own instead."""
    with (state_dir() / "stack-users.lock").open("a") as users:
        fcntl.flock(users, fcntl.LOCK_SH)
        started: list[object] = []
        try:
            admin = os.environ.get("TDS_TEST_DATABASE_URL")
            if not admin:
                pg = devpg.PostgresConfig()
                with FileLock(str(state_dir() / "postgres.start.lock")):
                    if devpg.start(pg):
                        started.append(pg)
                admin = pg.url("postgres")
            bootstrap = os.environ.get("TDS_TEST_KAFKA_BOOTSTRAP", "")
            if kafka and not bootstrap:
                broker = devkafka.KafkaConfig()
                with FileLock(str(state_dir() / "kafka.start.lock")):
                    if devkafka.start(broker):
                        started.append(broker)
                bootstrap = broker.bootstrap
            yield Stack(admin, bootstrap)
        finally:
            if started and not os.environ.get("TDS_KEEP_STACK") and _alone(users):
                for config in reversed(started):
                    if isinstance(config, devkafka.KafkaConfig):
                        devkafka.stop(config)
                    elif isinstance(config, devpg.PostgresConfig):
                        devpg.stop(config)


def _alone(users: IO[str]) -> bool:
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def scratch_database(admin_url: str, prefix: str = "tds_bench") -> Iterator[str]:
    """A migrated database of its own, dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        apply_migrations(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
