"""Kafka settings for the suite's brokers: each is a single node, so topics have one replica."""

from __future__ import annotations

from typing import Final

from tds_common.settings import KafkaSettings

SINGLE_BROKER: Final = KafkaSettings(replication_factor=1, min_insync_replicas=1)
"""What ``ensure_topics`` creates on a test broker, and what the services' health expects
(tests/conftest.py exports the same as ``KAFKA__*`` for every ``Settings()`` and subprocess)."""
