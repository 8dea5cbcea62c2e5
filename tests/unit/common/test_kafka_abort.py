"""tds_common.kafka.abort_pending still finds aiokafka's private internals it relies on.

An aiokafka upgrade that moved them fails here, loudly, rather than at an ingest shutdown.
"""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaTimeoutError
from aiokafka.structs import TopicPartition

from tds_common.kafka import abort_pending, create_producer


async def test_abort_fails_every_buffered_send_with_the_given_error() -> None:
    producer = create_producer("127.0.0.1:1")  # never started: nothing reaches a broker
    try:
        buffered = await producer._message_accumulator.add_message(
            TopicPartition("tds.test", 0), None, b"event", timeout=1
        )
        assert not buffered.done()

        await abort_pending(producer, KafkaTimeoutError("shutting down"))

        assert buffered.done()
        with pytest.raises(KafkaTimeoutError, match="shutting down"):
            buffered.result()
    finally:
        await producer.stop()
