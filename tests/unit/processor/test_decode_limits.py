"""The processor refuses, at decode, what ingest refuses: one depth limit, one org-id rule.

Events come from ingest, the DLQ replay or anything else that can write to the topic; a payload
past the shared limits is a dead letter that says why, before any zoho-proxy call or write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from processor.pipeline import decode
from tds_common.errors import InvalidMessageError
from tds_common.json_limits import MAX_JSON_DEPTH


@dataclass
class Record:
    value: bytes
    topic: str = "tds.zoho.events"
    partition: int = 0
    offset: int = 3
    key: bytes | None = None


def _event(payload: dict[str, Any], org: str = "60000000001") -> bytes:
    envelope = {
        "event_id": "e-1",
        "org_id": org,
        "entity": "products",
        "zoho_id": "1",
        "op": "upsert",
        "source": "webhook",
        "received_at": "2026-06-09T13:45:21Z",
        "last_modified_time": "2026-06-09T13:45:21Z",
        "payload": payload,
    }
    return json.dumps(envelope).encode()


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_a_payload_within_the_limit_decodes() -> None:
    payload = {"item_id": "1", "x": _deep(MAX_JSON_DEPTH - 1)}  # the record itself is one level
    item = decode(Record(_event(payload)))
    assert item.error is None and item.envelope is not None
    assert item.envelope.payload == payload


@pytest.mark.parametrize(
    ("payload", "org", "says"),
    [
        ({"item_id": "1", "x": _deep(MAX_JSON_DEPTH)}, "60000000001", "deeper than"),
        ({"item_id": "1", "name": "a\x00b"}, "60000000001", "U+0000"),
        ({"item_id": "1"}, "acme-1", "org_id"),
    ],
)
def test_a_payload_past_the_shared_limits_is_poison_that_says_why(
    payload: dict[str, Any], org: str, says: str
) -> None:
    item = decode(Record(_event(payload, org)))
    assert isinstance(item.error, InvalidMessageError)
    assert says in str(item.error)


@pytest.mark.parametrize("field", ["event_id", "entity", "zoho_id"])
def test_a_nul_in_an_envelope_field_is_poison_recorded_without_the_envelope(field: str) -> None:
    # PostgreSQL stores U+0000 in no text column: a dead letter that copied the field into
    # tds_inbox_events would fail too, and the record would be retried forever.
    value = json.loads(_event({"item_id": "1", "name": "x"}))
    value[field] = "products\x00" if field == "entity" else "1\x002"
    item = decode(Record(json.dumps(value).encode()))
    assert isinstance(item.error, InvalidMessageError)
    assert "U+0000" in str(item.error)
    assert item.envelope is None and item.dedup_key == "invalid:tds.zoho.events:0:3"
