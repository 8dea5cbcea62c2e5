"""Whether the contract's topics are as durable as configured (``KAFKA__REPLICATION_FACTOR``,
``KAFKA__MIN_INSYNC_REPLICAS``).

Topics created by someone else, or before the settings changed, may have fewer replicas or a
lower ``min.insync.replicas`` than we expect; ``acks=all`` then acknowledges writes a single
broker loss can destroy. Services report the difference in ``/health`` (an advisory check: it
marks the service degraded and never takes it out of rotation) instead of finding out in an
outage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Final

from tds_common.kafka import admin_session, describe_topic_configs
from tds_common.settings import KafkaSettings, ServiceSettings

RECHECK_SECONDS: Final = 300.0
"""A topic's durability changes only by an operator's hand: ask the broker every 5 minutes."""


class TopicDurabilityError(Exception):
    """A topic's replication factor or ``min.insync.replicas`` differs from the settings."""


async def durability_mismatches(
    bootstrap_servers: str, topics: Sequence[str], kafka: KafkaSettings
) -> list[str]:
    """One line per topic setting that differs from ``kafka`` (empty: all as configured)."""
    async with admin_session(bootstrap_servers, kafka) as admin:
        described = await admin.describe_topics(list(topics))
        found = [topic["topic"] for topic in described if not topic["error_code"]]
        configs = await describe_topic_configs(admin, found) if found else {}
    mismatches: list[str] = []
    for topic in described:
        name = topic["topic"]
        if topic["error_code"]:
            mismatches.append(f"{name}: cannot describe (error {topic['error_code']})")
            continue
        replicas = {len(partition["replicas"]) for partition in topic["partitions"]}
        if replicas != {kafka.replication_factor}:
            actual = ",".join(str(count) for count in sorted(replicas))
            mismatches.append(
                f"{name}: replication factor {actual}, configured {kafka.replication_factor}"
            )
        min_isr = configs.get(name, {}).get("min.insync.replicas")
        if min_isr != str(kafka.min_insync_replicas):
            mismatches.append(
                f"{name}: min.insync.replicas {min_isr}, configured {kafka.min_insync_replicas}"
            )
    return mismatches


class TopicDurabilityCheck:
    """A health check: raises :class:`TopicDurabilityError` naming every mismatch.

    The broker's answer is kept for ``recheck_seconds``; a broker that cannot be asked is not
    remembered, so the next probe asks again.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str],
        kafka: KafkaSettings,
        *,
        recheck_seconds: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topics = list(topics)
        self._kafka = kafka
        self._recheck_seconds = recheck_seconds
        self._clock = clock
        self._verdict: list[str] | None = None
        self._checked_at = 0.0

    async def __call__(self) -> None:
        if self._verdict is None or self._clock() - self._checked_at >= self._recheck_seconds:
            self._verdict = await durability_mismatches(
                self._bootstrap_servers, self._topics, self._kafka
            )
            self._checked_at = self._clock()
        if self._verdict:
            raise TopicDurabilityError("; ".join(self._verdict))


def topic_durability_check(settings: ServiceSettings) -> TopicDurabilityCheck:
    """The check of a service: the contract's three topics against its ``KAFKA__*`` settings."""
    topics = settings.topics
    return TopicDurabilityCheck(
        settings.kafka_bootstrap_servers,
        [topics.events, topics.sync_requests, topics.dead_letters],
        settings.kafka,
    )
