from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from tds_common.catalogue import ENTITIES, WEBHOOK_ENTITIES
from tds_common.events import (
    PAYLOAD_CHECKED,
    EventEnvelope,
    format_zoho_timestamp,
    parse_zoho_timestamp,
    record_time,
)


def test_zoho_timestamps_parse_with_their_offset() -> None:
    parsed = parse_zoho_timestamp("2026-06-09T09:45:21-0400")
    assert parsed == datetime(2026, 6, 9, 13, 45, 21, tzinfo=UTC)
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=-4)
    assert parse_zoho_timestamp("2013-08-05T12:06:10+0530") == datetime(
        2013, 8, 5, 12, 6, 10, tzinfo=timezone(timedelta(hours=5, minutes=30))
    )
    assert parse_zoho_timestamp("") is None
    with pytest.raises(ValueError):
        parse_zoho_timestamp("09 Jun 2026")


def test_format_round_trips() -> None:
    text = "2026-06-09T09:45:21-0400"
    parsed = parse_zoho_timestamp(text)
    assert parsed is not None and format_zoho_timestamp(parsed) == text


def test_envelope_round_trip_key_and_dedup() -> None:
    envelope = EventEnvelope(
        org_id="60000000001",
        entity="invoices",
        zoho_id="4815000000044895",
        source="webhook",
        last_modified_time=parse_zoho_timestamp("2026-06-09T09:45:21-0400"),
        payload={"invoice_id": "4815000000044895"},
    )
    again = EventEnvelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert envelope.key == b"60000000001:invoices:4815000000044895"
    assert again.dedup_key == envelope.dedup_key
    later = envelope.model_copy(update={"last_modified_time": datetime.now(UTC)})
    assert later.dedup_key != envelope.dedup_key


def test_envelope_rejects_unknown_fields_and_empty_ids() -> None:
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate(
            {"org_id": "o", "entity": "x", "zoho_id": "", "source": "webhook"}
        )
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate(
            {"org_id": "o", "entity": "x", "zoho_id": "1", "source": "webhook", "extra": 1}
        )


def test_envelope_walks_its_payload_unless_the_producer_checked_it() -> None:
    fields = {"org_id": "60000000001", "entity": "invoices", "zoho_id": "1", "source": "webhook"}
    unstorable = {**fields, "payload": {"invoice_id": "1", "notes": "a\x00b"}}
    with pytest.raises(ValidationError, match="U\\+0000"):
        EventEnvelope.model_validate(unstorable)
    with pytest.raises(ValidationError, match="U\\+0000"):
        EventEnvelope.model_validate(unstorable, context={"unrelated": True})
    # Ingest's records went through parse_json, which refuses the same; only then is the
    # payload's second walk skipped. The envelope's own text fields are still checked.
    trusted = EventEnvelope.model_validate(unstorable, context={PAYLOAD_CHECKED: True})
    assert trusted.payload == unstorable["payload"]
    with pytest.raises(ValidationError, match="U\\+0000"):
        EventEnvelope.model_validate(
            {**fields, "zoho_id": "1\x00", "payload": {}}, context={PAYLOAD_CHECKED: True}
        )


def test_catalogue_matches_the_contract() -> None:
    assert "warehouses" in ENTITIES and "warehouses" not in WEBHOOK_ENTITIES
    assert ENTITIES["credit-notes"].module_key == "creditnote"
    assert ENTITIES["stock"].products == ("inventory",)
    assert ENTITIES["products"].products == ("books", "inventory")


def test_record_time_reads_a_field_and_tolerates_junk() -> None:
    """Zoho's answers: one odd timestamp must not fail a page (it used to crash on non-text)."""
    record = {"last_modified_time": "2026-06-09T09:45:21-0400", "created_time": "2026-06-01"}
    assert record_time(record) == datetime(2026, 6, 9, 13, 45, 21, tzinfo=UTC)
    assert record_time(record, "created_time") == datetime(2026, 6, 1, tzinfo=UTC)
    for junk in ("", "yesterday", 1780000000, None, ["2026-06-09"]):
        assert record_time({"created_time": junk}, "created_time") is None
    assert record_time({}) is None
