"""Fuzzing the webhook endpoint: no 5xx, and every 2xx reaches the processor decodable.

Two generators: schemathesis over ingest's own OpenAPI (parameters, media types, shapes), and a
hypothesis generator of hostile JSON text inside an otherwise valid record (see
``hostile_bodies``). Every accepted event is read back from the topic and decoded with the
processor's own ``decode``.

The server is real (uvicorn on loopback, real broker). Every generated request carries a valid
token, so the fuzzing reaches the body, parameter and record checks rather than stopping at 401
(the token itself is covered by the endpoint tests). Bounded: ``MAX_EXAMPLES`` per operation.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from aiokafka import ConsumerRecord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok

from ingest.app import create_app
from processor.pipeline import decode
from tds_common.events import EventEnvelope
from tds_common.settings import TopicSettings
from tests.integration.ingest.conftest import (
    STAMP,
    TOKEN,
    live_server,
    make_settings,
    read_topic,
)

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 50
HOSTILE_EXAMPLES = 150


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
    published = [_decoded_in_the_processor(r).event_id for r in records]
    assert sorted(published) == sorted(accepted), statuses


def _decoded_in_the_processor(record: ConsumerRecord[bytes, bytes]) -> EventEnvelope:
    """The event as the processor's own ``decode`` sees it; an accepted event must not fail."""
    item = decode(record)
    assert item.error is None, item.error
    assert item.envelope is not None
    return item.envelope


# Hostile JSON as text: what a generator of Python values never produces (lone surrogates,
# 1e999, integers of thousands of digits, nesting past every parser's bound, U+0000).
HOSTILE_NUMBERS = st.sampled_from(
    [
        "1e999",
        "-1e999",
        "1e9999999",
        "1e-9999999",
        "-0.0",
        "1.7976931348623157e308",
        "5e-324",
        "1" + "0" * 4000,
        "1" + "0" * 5000,
        "123456789012345678901234567890",
    ]
)
ESCAPES = st.sampled_from(
    [r"\ud800", r"\udfff", r"\ud83d\ude00", r"\u0000", r"\u001f", r"\\", r"\"", "plain"]
)
STRINGS = st.lists(
    st.one_of(
        ESCAPES,
        st.text(
            st.characters(exclude_categories=["Cc", "Cs"], exclude_characters='"\\'), max_size=5
        ),
    ),
    max_size=4,
).map(lambda parts: '"' + "".join(parts) + '"')
LEAVES = st.one_of(
    HOSTILE_NUMBERS,
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    STRINGS,
    st.sampled_from(["true", "false", "null"]),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(STRINGS, inner), max_size=3).map(
            lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"
        ),
    ),
    max_leaves=8,
)


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    """A product record whose extra field is hostile, wrapped in up to 300 levels."""
    depth = draw(st.integers(0, 300))
    value = "[" * depth + draw(VALUES) + "]" * depth
    head = f'{{"item": {{"item_id": "46000000{draw(st.integers(0, 9999))}", '
    return f'{head}"last_modified_time": "{STAMP}", "extra": {value}}}}}'.encode()


def _fuzz_hostile_bodies(base_url: str) -> tuple[Counter[int], dict[str, bytes]]:
    statuses: Counter[int] = Counter()
    accepted: dict[str, bytes] = {}
    headers = {"X-TDS-Webhook-Token": TOKEN, "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:

        @settings(
            max_examples=HOSTILE_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(body=hostile_bodies())
        def check(body: bytes) -> None:
            response = client.post("/api/zoho/webhooks/products", content=body)
            statuses[response.status_code] += 1
            assert response.status_code < 500, (response.status_code, response.text)
            assert response.status_code in (202, 400, 413, 422), response.text
            assert TOKEN not in response.text
            if response.status_code == 202:
                accepted[response.json()["event_id"]] = body
            else:
                assert set(response.json()) >= {"error_code", "message"}

        check()
    return statuses, accepted


async def test_hostile_json_is_refused_or_reaches_the_processor_unchanged(
    kafka_bootstrap: str, topics: TopicSettings
) -> None:
    app = create_app(make_settings(kafka_bootstrap, topics))
    with live_server(app) as live:
        statuses, accepted = await asyncio.to_thread(_fuzz_hostile_bodies, live.url)

    assert accepted and statuses[400], f"the fuzz never hit both sides of the limits: {statuses}"
    records = await read_topic(kafka_bootstrap, topics.events)
    received = {}
    for record in records:
        envelope = _decoded_in_the_processor(record)
        received[envelope.event_id] = envelope.payload
    assert set(received) == set(accepted), statuses
    for event_id, body in accepted.items():
        # An independent parser (the standard library's) must read the body the same way.
        assert received[event_id] == json.loads(body)["item"]
