"""Webhook bodies → records: Zoho's wrapped payload, a bare record, the form variant; errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from ingest.errors import InvalidRecordError, MalformedPayloadError
from ingest.payload import parse_webhook
from tds_common.catalogue import WEBHOOK_ENTITIES, get_entity

PRODUCTS = get_entity("products")
STAMP = "2026-06-09T09:45:21-0400"
RECORD = {"item_id": "4600000000012345", "last_modified_time": STAMP, "name": "Widget", "rate": 1}


def test_wrapped_json_record_is_kept_whole() -> None:
    parsed = parse_webhook(json.dumps({"item": RECORD}).encode(), "json", PRODUCTS)
    assert parsed.zoho_id == "4600000000012345"
    assert parsed.last_modified_time == datetime(2026, 6, 9, 13, 45, 21, tzinfo=UTC)
    assert parsed.record == RECORD


def test_bare_record_with_id_field_is_tolerated() -> None:
    parsed = parse_webhook(json.dumps(RECORD).encode(), "json", PRODUCTS)
    assert parsed.record == RECORD


def test_form_encoded_json_string() -> None:
    body = urlencode({"JSONString": json.dumps({"item": RECORD})}).encode()
    assert parse_webhook(body, "form", PRODUCTS).record == RECORD


def test_numeric_id_becomes_text() -> None:
    parsed = parse_webhook(
        json.dumps({"item": {**RECORD, "item_id": 42}}).encode(), "json", PRODUCTS
    )
    assert parsed.zoho_id == "42"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "json"),
        (b"   ", "json"),
        (b"{not json", "json"),
        (b"\xff\xfe\x00", "json"),
        (b"[" * 100_000, "json"),
        (b"JSONString=%7Bbroken", "form"),
        (b"JSONString=%FF%FE", "form"),
        (b"JSONString=1&JSONString=2", "form"),
    ],
)
def test_malformed_bodies_are_400(body: bytes, kind: str) -> None:
    with pytest.raises(MalformedPayloadError) as info:
        parse_webhook(body, kind, PRODUCTS)  # type: ignore[arg-type]
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    ("document", "field", "problem"),
    [
        ([RECORD], "(root)", "not an object"),
        ({"invoice": RECORD}, "item", "missing"),
        ({"item": [RECORD]}, "item", "not an object"),
        ({"item": {"last_modified_time": STAMP}}, "item_id", "missing"),
        ({"item": {**RECORD, "item_id": ""}}, "item_id", "missing"),
        ({"item": {**RECORD, "item_id": "1:2"}}, "item_id", "pattern"),
        ({"item": {**RECORD, "item_id": True}}, "item_id", "string"),
        ({"item": {"item_id": "1"}}, "last_modified_time", "missing"),
        ({"item": {**RECORD, "last_modified_time": ""}}, "last_modified_time", "missing"),
        ({"item": {**RECORD, "last_modified_time": "yesterday"}}, "last_modified_time", "Zoho"),
        (
            {"item": {**RECORD, "last_modified_time": "2026-13-40T00:00:00-0400"}},
            "last_modified_time",
            "month",
        ),
        ({"item": {**RECORD, "last_modified_time": 1717939521}}, "last_modified_time", "Zoho"),
    ],
)
def test_unusable_records_are_422_naming_the_field(
    document: object, field: str, problem: str
) -> None:
    with pytest.raises(InvalidRecordError) as info:
        parse_webhook(json.dumps(document).encode(), "json", PRODUCTS)
    assert info.value.http_status == 422
    assert [e["field"] for e in info.value.errors] == [field]
    assert problem in info.value.errors[0]["problem"]


def test_form_without_json_string_is_422() -> None:
    with pytest.raises(InvalidRecordError, match="JSONString"):
        parse_webhook(b"item_id=1&name=x", "form", PRODUCTS)


@pytest.mark.parametrize(
    ("entity", "key", "id_field"),
    [(name, get_entity(name).module_key, get_entity(name).id_field) for name in WEBHOOK_ENTITIES],
)
def test_every_entity_uses_its_module_key_and_id(entity: str, key: str, id_field: str) -> None:
    record = {id_field: "77", "last_modified_time": STAMP}
    parsed = parse_webhook(json.dumps({key: record}).encode(), "json", get_entity(entity))
    assert parsed.zoho_id == "77"
