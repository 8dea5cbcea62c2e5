"""Session fixtures for the whole suite: the real local Kafka and PostgreSQL.

Integration tests get the running stack from here; if it is not up, it is started (and stopped
again at the end of the session, unless it was already running). Each test session works in a
database of its own, migrated from scratch, and each test that asks for topics gets fresh,
uniquely named ones, so runs never see each other's data. The database is migrated as the admin
role and used as ``tds_app`` (the runtime role, rows only), as the services run in production.

Point the suite at other servers with ``TDS_TEST_DATABASE_URL`` (an admin DSN; a scratch
database is created beside it; the server must let ``tds_app`` log in from loopback without a
password, as the local server's trust authentication does) and ``TDS_TEST_KAFKA_BOOTSTRAP``.
The suite's log and metrics scan for test secrets is tests/secret_scan.py.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Final

import asyncpg
import psycopg
import pytest
from filelock import FileLock

from devstack import kafka as devkafka
from devstack import postgres as devpg
from devstack import stack as devstack_stack
from devstack.paths import state_dir
from tds_common.db import create_pool
from tds_common.kafka import ensure_topics
from tds_common.migrate import apply_migrations
from tds_common.settings import TopicSettings
from tests.secret_scan import SCAN
from tests.secret_scan import pytest_runtest_call as pytest_runtest_call
from tests.secret_scan import pytest_runtest_setup as pytest_runtest_setup
from tests.secret_scan import pytest_runtest_teardown as pytest_runtest_teardown
from tests.secret_scan import pytest_sessionfinish as pytest_sessionfinish
from tests.secret_scan import pytest_sessionstart as pytest_sessionstart
from tests.secret_scan import pytest_terminal_summary as pytest_terminal_summary
from tests.utils import zoho
from tests.utils.kafka import CREATED_TOPICS, SINGLE_BROKER, delete_topics
from zoho_sim.settings import DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN

# The suite's brokers are single nodes: every service built by a test (Settings() or a process)
# expects the topics' one replica, as ``SINGLE_BROKER`` creates them.
os.environ.setdefault("KAFKA__REPLICATION_FACTOR", str(SINGLE_BROKER.replication_factor))
os.environ.setdefault("KAFKA__MIN_INSYNC_REPLICAS", str(SINGLE_BROKER.min_insync_replicas))

# The secrets the shared fixtures hand to services; test modules (and tests/utils/auth.py's
# service tokens) register their own.
for _secret in (
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    zoho.ENCRYPTION_KEY,
):
    SCAN.register_secret(_secret)


def _start_or_exit(server: str, start: Callable[[], bool]) -> bool:
    """Start a shared server, or end the session with one clear message (not one per test)."""
    try:
        return start()
    except Exception as exc:  # any failure to start ends the run the same way
        pytest.exit(f"{server} could not start: {exc}", returncode=3)


@pytest.fixture(scope="session", name="stack_users")
def fixture_stack_users() -> Iterator[Callable[[], bool]]:
    """Whether this session is the last one using the shared stack, asked at its end.

    Every session holds a shared lock on one file; the session that started a server stops it
    only when it can take that lock exclusively, so it never pulls Kafka or PostgreSQL from
    under another pytest session still running against them.
    """
    with (state_dir() / devstack_stack.STACK_USERS_LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)

        def alone() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        yield alone


@pytest.fixture(scope="session", name="postgres_admin_url")
def fixture_postgres_admin_url(stack_users: Callable[[], bool]) -> Iterator[str]:
    if url := os.environ.get("TDS_TEST_DATABASE_URL"):
        yield url
        return
    config = devpg.PostgresConfig()
    with FileLock(str(state_dir() / "postgres.start.lock")):
        started = _start_or_exit("PostgreSQL", lambda: devpg.start(config))
    yield config.url("postgres")
    if started and not os.environ.get("TDS_KEEP_STACK") and stack_users():
        devpg.stop(config)


RUNTIME_DB_PASSWORD: Final = SCAN.register_secret(f"db-{secrets.token_hex(12)}")
"""The runtime login's password in the suite's URLs (local auth is trust, so unchecked): a
secret the suite's log scan looks for (tests/secret_scan.py)."""


@pytest.fixture(scope="session", name="migration_database_url")
def fixture_migration_database_url(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database of this session's own, as the role that migrated it (DDL rights)."""
    name = f"tds_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    apply_migrations(url)
    yield url
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", name="database_url")
def fixture_database_url(migration_database_url: str) -> str:
    """The session's database as the services see it in production: the runtime role (rows,
    no DDL; migration 0013). Everything the suite runs against PostgreSQL uses it."""
    with FileLock(str(state_dir() / "postgres.start.lock")):
        devpg.ensure_runtime_login(migration_database_url)
    return devpg.with_user(migration_database_url, devpg.RUNTIME_LOGIN, RUNTIME_DB_PASSWORD)


@pytest.fixture(scope="session", name="db_pool")
async def fixture_db_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture(scope="session", name="kafka_bootstrap")
def fixture_kafka_bootstrap(stack_users: Callable[[], bool]) -> Iterator[str]:
    if bootstrap := os.environ.get("TDS_TEST_KAFKA_BOOTSTRAP"):
        yield bootstrap
        return
    config = devkafka.KafkaConfig()
    with FileLock(str(state_dir() / "kafka.start.lock")):
        started = _start_or_exit("Kafka", lambda: devkafka.start(config))
    yield config.bootstrap
    asyncio.run(delete_topics(config.bootstrap, CREATED_TOPICS))
    if started and not os.environ.get("TDS_KEEP_STACK") and stack_users():
        devkafka.stop(config)


@pytest.fixture(name="topics")
async def fixture_topics(kafka_bootstrap: str) -> TopicSettings:
    """Fresh, uniquely named topics (events with 3 partitions) for one test."""
    suffix = uuid.uuid4().hex[:10]
    topics = TopicSettings(
        events=f"test.{suffix}.events",
        sync_requests=f"test.{suffix}.sync.requests",
        dead_letters=f"test.{suffix}.events.dlq",
    )
    await ensure_topics(
        kafka_bootstrap,
        {topics.events: 3, topics.sync_requests: 1, topics.dead_letters: 1},
        kafka=SINGLE_BROKER,
    )
    CREATED_TOPICS.extend((topics.events, topics.sync_requests, topics.dead_letters))
    return topics


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(name="private_kafka")
def fixture_private_kafka() -> Iterator[devkafka.KafkaConfig]:
    """A broker of this test's own, for fault tests that stop or kill it.

    Never stop the shared broker (``kafka_bootstrap``): other tests and developers use it.
    Restart with ``devkafka.start(config)``; its data survives a stop.
    """
    config = devkafka.KafkaConfig(
        port=free_port(),
        controller_port=free_port(),
        name=f"kafka-{uuid.uuid4().hex[:8]}",
        heap="384m",
    )
    devkafka.start(config)
    yield config
    devkafka.stop(config, kill=True)
    shutil.rmtree(config.home, ignore_errors=True)


@pytest.fixture(name="private_postgres")
def fixture_private_postgres() -> Iterator[devpg.PostgresConfig]:
    """A PostgreSQL server of this test's own (database ``tds``, migrated), for fault tests.

    Stop it with ``devpg.stop(config)`` and start it again with ``devpg.start(config)``.
    """
    config = devpg.PostgresConfig(port=free_port(), name=f"postgres-{uuid.uuid4().hex[:8]}")
    devpg.start(config)
    apply_migrations(config.url())
    yield config
    devpg.stop(config)
    shutil.rmtree(config.home, ignore_errors=True)
