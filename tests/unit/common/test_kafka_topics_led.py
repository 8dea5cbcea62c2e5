"""tds_common.kafka: created topics count as ready once every partition has a leader."""

from __future__ import annotations

from typing import Any, cast

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tds_common.errors import UpstreamUnavailableError
from tds_common.kafka import _until_led


class _Admin:
    """Answers describe_topics as a broker whose metadata gains leaders after ``lag`` calls."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.calls = 0

    async def describe_topics(self, topics: list[str]) -> list[dict[str, Any]]:
        self.calls += 1
        leader = 1 if self.calls > self.lag else -1
        return [
            {
                "topic": t,
                "error_code": 0,
                "partitions": [{"partition": p, "leader": leader} for p in range(2)],
            }
            for t in topics
        ]


async def test_waits_until_every_partition_is_led() -> None:
    admin = _Admin(lag=3)
    await _until_led(cast(AIOKafkaAdminClient, admin), {"a": 2, "b": 2})
    assert admin.calls == 4


async def test_a_topic_never_led_is_an_error_naming_it() -> None:
    admin = _Admin(lag=10**6)
    with pytest.raises(UpstreamUnavailableError, match=r"without leaders .*\['a'\]"):
        await _until_led(cast(AIOKafkaAdminClient, admin), {"a": 2}, within_seconds=0.2)
