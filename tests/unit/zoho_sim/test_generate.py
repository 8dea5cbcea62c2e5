"""Seeded records: deterministic, Zoho-shaped, cheap sort keys agree with the records."""

from __future__ import annotations

import re

import pytest

from zoho_sim.entities import SPECS, status_matches
from zoho_sim.generate import (
    GENERATORS,
    OrgContext,
    contact_display_name,
    generate,
    item_name,
    seeded_filter_fields,
)
from zoho_sim.timefmt import parse_offset

CTX = OrgContext(
    org_id="60000000001",
    org_position=1,
    seed=42,
    tz=parse_offset("-0400"),
    currency_code="USD",
    scale=(("contacts", 100), ("items", 100), ("warehouses", 3)),
)


@pytest.mark.parametrize("entity", sorted(GENERATORS))
def test_records_are_deterministic_and_id_shaped(entity: str) -> None:
    first = [generate(CTX, entity, i) for i in range(20)]
    assert first == [generate(CTX, entity, i) for i in range(20)]
    for i, record in enumerate(first):
        record_id = record[f"{entity.rstrip('s')}_id"]
        assert record_id == CTX.entity_id(entity, i)
        assert re.fullmatch(r"\d{18}", record_id)
        assert None not in record.values()


def test_cheap_keys_match_the_records() -> None:
    for i in range(50):
        assert generate(CTX, "items", i)["name"] == item_name(CTX, i)
        assert generate(CTX, "contacts", i)["contact_name"] == contact_display_name(CTX, i)


@pytest.mark.parametrize("entity", ["items", "contacts", "invoices", "bills", "creditnotes"])
def test_cheap_filter_fields_match_the_records(entity: str) -> None:
    for i in range(60):
        record = generate(CTX, entity, i)
        cheap = seeded_filter_fields(CTX, entity, i)
        assert {key: record[key] for key in cheap} == cheap


def test_modified_never_before_created() -> None:
    for i in range(200):
        created, modified = CTX.times("invoices", i)
        assert created <= modified


def test_line_item_totals_add_up() -> None:
    invoice = generate(CTX, "invoices", 3)
    assert invoice["sub_total"] == round(sum(li["item_total"] for li in invoice["line_items"]), 2)
    assert invoice["total"] == round(invoice["sub_total"] + invoice["tax_total"], 2)


def test_status_filters_of_documents() -> None:
    spec = SPECS["invoices"]
    assert status_matches(spec, {"status": "partially_paid"}, "Status.PartiallyPaid")
    assert status_matches(spec, {"status": "overdue"}, "Status.Unpaid")
    assert not status_matches(spec, {"status": "paid"}, "Status.Unpaid")
    assert status_matches(
        SPECS["items"], {"stock_on_hand": 3, "reorder_level": 5}, "Status.Lowstock"
    )
    assert not status_matches(
        SPECS["items"], {"stock_on_hand": 3, "reorder_level": ""}, "Status.Lowstock"
    )
