"""Zoho request shapes of the write-back: the idempotency key, local_ref references, versions."""

from __future__ import annotations

import pytest

from bulk_sync.writeback.shapes import (
    UnresolvedReferenceError,
    already_applied,
    carried_value,
    carries_key,
    references,
    resolve,
    with_key,
)

INVOICE = {
    "customer_local_ref": "c-1",
    "line_items": [{"item_local_ref": "p-1", "quantity": 2}, {"item_id": "460111", "rate": 1}],
}


def test_the_key_goes_into_a_plain_field_or_a_custom_field() -> None:
    assert with_key({"x": 1}, "reference_number", "k1") == {"x": 1, "reference_number": "k1"}
    body = with_key(
        {"custom_fields": [{"api_name": "cf_region", "value": "EU"}]}, "cf_tds_key", "k2"
    )
    assert body["custom_fields"] == [
        {"api_name": "cf_region", "value": "EU"},
        {"api_name": "cf_tds_key", "value": "k2"},
    ]
    assert carries_key(body, "cf_tds_key") and not carries_key(body, "cf_other")
    assert carries_key({"reference_number": "PO-1"}, "reference_number")
    assert carried_value(body, "cf_tds_key") == "k2"
    assert carried_value({"custom_field_hash": {"cf_tds_key": "k3"}}, "cf_tds_key") == "k3"
    assert carried_value({"custom_fields": []}, "cf_tds_key") == ""
    assert carried_value({"contact_id": "1"}, "cf_tds_key") is None
    assert carried_value({"reference_number": "k4"}, "reference_number") == "k4"
    assert not carries_key({}, "reference_number")


def test_local_refs_are_listed_and_replaced_by_zoho_ids() -> None:
    assert references(INVOICE) == [("customers", "c-1"), ("products", "p-1")]
    body = resolve(INVOICE, {("customers", "c-1"): "9001", ("products", "p-1"): "9002"})
    assert body == {
        "customer_id": "9001",
        "line_items": [{"item_id": "9002", "quantity": 2}, {"item_id": "460111", "rate": 1}],
    }
    assert INVOICE["customer_local_ref"] == "c-1", "the stored payload is left as it was"


def test_an_unknown_local_ref_is_named() -> None:
    with pytest.raises(UnresolvedReferenceError) as caught:
        resolve(INVOICE, {("customers", "c-1"): "9001"})
    assert caught.value.key == ("products", "p-1")
    assert "p-1" in str(caught.value)


def test_versions_and_an_update_already_applied() -> None:
    record = {"contact_name": "A", "rate": 3, "last_modified_time": "2026-06-09T09:45:21-0400"}
    assert already_applied({"contact_name": "A", "rate": 3}, record)
    assert not already_applied({"contact_name": "B"}, record)
    assert not already_applied({"line_items": []}, record), "nothing comparable: not proven"
