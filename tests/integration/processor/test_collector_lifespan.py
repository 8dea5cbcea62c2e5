"""The running service has its garbage collector tuned, and puts it back when it stops."""

from __future__ import annotations

import gc

from processor.settings import CollectorSettings
from tds_common.settings import TopicSettings
from tests.integration.processor.helpers import processor_settings, running_processor


async def test_the_service_freezes_its_start_up_heap_and_applies_the_gen0_threshold(
    database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    before = gc.get_threshold()
    settings = processor_settings(
        database_url, kafka_bootstrap, topics, gc=CollectorSettings(gen0_threshold=23456)
    )
    async with running_processor(settings):
        assert gc.get_threshold() == (23456, *before[1:])
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
