"""tds_common.kafka.create_consumer: offsets are never committed behind the owner's back."""

from __future__ import annotations

from tds_common.kafka import create_consumer
from tds_common.settings import ConsumerGroupSettings


async def test_consumer_commits_only_when_told_and_takes_overrides() -> None:
    group = ConsumerGroupSettings(group_id="tds-test", session_timeout_ms=12_000)
    consumer = create_consumer("127.0.0.1:1", group, max_partition_fetch_bytes=1234)
    try:
        assert consumer._group_id == "tds-test"
        assert consumer._enable_auto_commit is False
        assert consumer._auto_offset_reset == "earliest"
        assert consumer._session_timeout_ms == 12_000
        assert consumer._max_partition_fetch_bytes == 1234
    finally:
        await consumer.stop()  # never started: nothing to leave
