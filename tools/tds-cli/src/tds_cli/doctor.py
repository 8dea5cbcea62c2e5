"""``tds doctor``: one line per check; any FAIL makes the exit status non-zero.

Checks: the settings load; PostgreSQL answers and every migration is applied; Kafka answers and
the contract's topics exist (with the DLQ topic's retention); each service's ``/health``;
zoho-proxy's Zoho token state; dead letters whose DLQ message has aged out of the topic (a
warning: replay can then only use the copy in ``tds_dead_letter_values``, when there is one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import psycopg
from yoyo import read_migrations

from tds_cli.api import CommandError, Services
from tds_cli.database import connect
from tds_cli.settings import CliSettings
from tds_common.errors import UpstreamUnavailableError
from tds_common.kafka import topic_settings
from tds_common.migrate import MIGRATIONS_DIR

DAY_MS: Final = 86_400_000

AGED_OUT: Final = """
SELECT count(*) AS n FROM tds_sync_queue
WHERE status = 'dead_letter'
  AND coalesce(processing_completed_at, queued_at) < now() - make_interval(secs => %(secs)s)
"""


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def _postgres(settings: CliSettings) -> Iterator[Check]:
    try:
        with connect(settings.database_url.get_secret_value()) as conn:
            info = conn.info
            yield Check("postgres", Status.OK, f"{info.host}:{info.port}/{info.dbname}")
            applied = {
                row["migration_id"]
                for row in conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
            }
    except CommandError as exc:
        yield Check("postgres", Status.FAIL, str(exc))
        return
    except psycopg.Error as exc:
        reason = str(exc).splitlines()[0]
        yield Check("migrations", Status.FAIL, f"cannot read _yoyo_migration: {reason}")
        return
    missing = sorted(m.id for m in read_migrations(str(MIGRATIONS_DIR)) if m.id not in applied)
    if missing:
        yield Check("migrations", Status.FAIL, f"{len(missing)} not applied: {', '.join(missing)}")
    else:
        yield Check("migrations", Status.OK, f"{len(applied)} applied")


def _kafka(settings: CliSettings) -> Iterator[Check]:
    topics = settings.topics
    dlq_retention_ms: int | None = None
    for topic in (topics.events, topics.sync_requests, topics.dead_letters):
        try:
            config = asyncio.run(
                topic_settings(settings.kafka_bootstrap_servers, topic, settings.kafka)
            )
        except UpstreamUnavailableError as exc:
            yield Check(f"kafka topic {topic}", Status.FAIL, str(exc))
            if "admin failed" in str(exc):
                return  # the broker itself is away: one line says so
            continue
        retention = int(config.get("retention.ms", "-1"))
        if topic == topics.dead_letters:
            dlq_retention_ms = retention
        kept = "forever" if retention < 0 else f"{retention / DAY_MS:g} days"
        yield Check(f"kafka topic {topic}", Status.OK, f"retention {kept}")
    if dlq_retention_ms is not None and dlq_retention_ms >= 0:
        yield from _aged_out(settings, dlq_retention_ms)


def _aged_out(settings: CliSettings, retention_ms: int) -> Iterator[Check]:
    try:
        with connect(settings.database_url.get_secret_value()) as conn:
            row = conn.execute(AGED_OUT, {"secs": retention_ms / 1000}).fetchone()
    except (CommandError, psycopg.Error):
        return  # the postgres line has said what is wrong
    count = int(row["n"]) if row else 0
    if count:
        yield Check(
            "dead letters",
            Status.WARN,
            f"{count} older than the DLQ topic's retention: their messages are gone from it",
        )
    else:
        yield Check("dead letters", Status.OK, "every dead letter is still in the DLQ topic")


def _services(services: Services) -> Iterator[Check]:
    for api in services.all():
        try:
            health = api.get("/health")
        except CommandError as exc:
            yield Check(api.name, Status.FAIL, str(exc))
            continue
        status = str(health.get("status", "unknown"))
        yield Check(api.name, Status.OK if status == "healthy" else Status.WARN, status)


def _token(services: Services) -> Iterator[Check]:
    try:
        budget: dict[str, Any] = services.zoho_proxy.get("/api/zoho/budget")
    except CommandError as exc:
        yield Check("zoho token", Status.FAIL, str(exc))
        return
    token = budget.get("token") or {}
    state = str(token.get("state", "unknown"))
    detail = state if not token.get("last_error") else f"{state}: {token['last_error']}"
    yield Check("zoho token", Status.OK if state == "ok" else Status.FAIL, detail)


def run_checks(
    settings_factory: Callable[[], CliSettings], services_factory: Callable[[CliSettings], Services]
) -> list[Check]:
    try:
        settings = settings_factory()
    except (ValueError, CommandError) as exc:  # pydantic's ValidationError is a ValueError
        return [Check("settings", Status.FAIL, " ".join(str(exc).split())[:300])]
    checks = [Check("settings", Status.OK, "loaded")]
    checks += _postgres(settings)
    checks += _kafka(settings)
    services = services_factory(settings)
    try:
        checks += _services(services)
        checks += _token(services)
    finally:
        services.close()
    return checks
