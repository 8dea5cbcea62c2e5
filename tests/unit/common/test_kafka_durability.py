"""The topic durability check: its verdict, kept for a while, and errors never kept."""

from __future__ import annotations

import pytest

from tds_common import kafka_durability
from tds_common.errors import UpstreamUnavailableError
from tds_common.kafka_durability import TopicDurabilityCheck, TopicDurabilityError
from tds_common.settings import KafkaSettings


class _Broker:
    def __init__(self) -> None:
        self.answers: list[list[str] | Exception] = []
        self.asked = 0

    async def mismatches(self, _: str, topics: list[str], kafka: KafkaSettings) -> list[str]:
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture(name="broker")
def fixture_broker(monkeypatch: pytest.MonkeyPatch) -> _Broker:
    broker = _Broker()
    monkeypatch.setattr(kafka_durability, "durability_mismatches", broker.mismatches)
    return broker


async def test_the_verdict_is_kept_until_the_recheck(broker: _Broker) -> None:
    now = [0.0]
    check = TopicDurabilityCheck(
        "b:9092", ["t"], KafkaSettings(), recheck_seconds=300, clock=lambda: now[0]
    )
    broker.answers = [["t: replication factor 1, configured 3"], []]
    with pytest.raises(TopicDurabilityError, match="replication factor 1, configured 3"):
        await check()
    now[0] = 299.0
    with pytest.raises(TopicDurabilityError):
        await check()
    assert broker.asked == 1
    now[0] = 300.0
    await check()  # fixed by an operator: the next look finds nothing
    assert broker.asked == 2


async def test_an_unreachable_broker_is_asked_again_next_time(broker: _Broker) -> None:
    check = TopicDurabilityCheck("b:9092", ["t"], KafkaSettings(), clock=lambda: 0.0)
    broker.answers = [UpstreamUnavailableError("Kafka admin failed"), []]
    with pytest.raises(UpstreamUnavailableError):
        await check()
    await check()
    assert broker.asked == 2
