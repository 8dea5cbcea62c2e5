"""Schemathesis over ingest's own OpenAPI: no 5xx, and only 2xx answers reach the topic.

The server is real (uvicorn on loopback, real broker). Every generated request carries a valid
token, so the fuzzing reaches the body, parameter and record checks rather than stopping at 401
(the token itself is covered by the endpoint tests). Bounded: ``MAX_EXAMPLES`` per operation.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from ingest.app import create_app
from tds_common.events import EventEnvelope
from tds_common.settings import TopicSettings
from tests.integration.ingest.conftest import TOKEN, live_server, make_settings, read_topic

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 50


def _fuzz(base_url: str, openapi: dict[str, Any]) -> tuple[Counter[int], set[str]]:
    schema = schemathesis.openapi.from_dict(openapi)
    statuses: Counter[int] = Counter()
    accepted: set[str] = set()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the schema must be valid OpenAPI
        operation = result.ok()

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            headers = {"X-TDS-Webhook-Token": TOKEN}
            response = case.call(base_url=base_url, headers=headers, timeout=30)
            statuses[response.status_code] += 1
            assert response.status_code < 500, (case.path, response.status_code, response.text)
            assert TOKEN not in response.text
            if case.method == "POST" and 200 <= response.status_code < 300:
                accepted.add(response.json()["event_id"])

        check()
    return statuses, accepted


async def test_fuzzed_requests_never_5xx_and_only_accepted_ones_are_published(
    kafka_bootstrap: str, topics: TopicSettings
) -> None:
    app = create_app(make_settings(kafka_bootstrap, topics))
    with live_server(app) as live:
        statuses, accepted = await asyncio.to_thread(_fuzz, live.url, app.openapi())

    assert sum(statuses.values()) >= MAX_EXAMPLES
    assert accepted, f"the fuzzer never produced an acceptable webhook: {statuses}"
    records = await read_topic(kafka_bootstrap, topics.events)
    published = [EventEnvelope.from_bytes(r.value).event_id for r in records]
    assert sorted(published) == sorted(accepted), statuses
