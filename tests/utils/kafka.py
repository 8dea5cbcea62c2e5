"""Kafka settings for the suite's brokers: each is a single node, so topics have one replica."""

from __future__ import annotations

import contextlib
from typing import Final

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from tds_common.settings import KafkaSettings

SINGLE_BROKER: Final = KafkaSettings(replication_factor=1, min_insync_replicas=1)
"""What ``ensure_topics`` creates on a test broker, and what the services' health expects
(tests/conftest.py exports the same as ``KAFKA__*`` for every ``Settings()`` and subprocess)."""


CREATED_TOPICS: Final[list[str]] = []
"""Topics this pytest session created on the shared broker: deleted when the session ends
(tests/conftest.py), so a developer's broker does not collect thousands of test partitions and
start slower with every run."""


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    """Delete ``names`` (those already gone are fine); a broker that cannot be reached leaves
    them for the next run, never failing the session over cleanup."""
    if not names:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        with contextlib.suppress(KafkaError):  # cleanup only: left for a later wipe
            await admin.start()
            for start in range(0, len(names), 500):
                await admin.delete_topics(names[start : start + 500], timeout_ms=30_000)
    finally:
        await admin.close()
