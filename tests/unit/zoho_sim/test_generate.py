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
    scale=(("contacts", 100), ("items", 100), ("warehouses", 3), ("invoices", 30)),
)


@pytest.mark.parametrize("entity", sorted(GENERATORS))
def test_records_are_deterministic_and_id_shaped(entity: str) -> None:
    first = [generate(CTX, entity, i) for i in range(20)]
    assert first == [generate(CTX, entity, i) for i in range(20)]
    for i, record in enumerate(first):
        record_id = record[SPECS[entity].id_field]
        assert record_id == CTX.entity_id(entity, i)
        assert re.fullmatch(r"\d{18}", record_id)
        assert None not in record.values()


def test_cheap_keys_match_the_records() -> None:
    for i in range(50):
        assert generate(CTX, "items", i)["name"] == item_name(CTX, i)
        assert generate(CTX, "contacts", i)["contact_name"] == contact_display_name(CTX, i)


def test_every_module_has_a_generator_and_its_own_id_code() -> None:
    assert set(GENERATORS) == set(SPECS)
    codes = [spec.code for spec in SPECS.values()]
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("entity", sorted(SPECS))
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


def test_a_payment_is_applied_to_seeded_invoices_and_its_amounts_add_up() -> None:
    for i in range(30):
        payment = generate(CTX, "customerpayments", i)
        assert payment["invoices"], "every payment applies to at least one invoice"
        for applied in payment["invoices"]:
            index = int(applied["invoice_id"][6:]) - 1
            invoice = generate(CTX, "invoices", index)
            assert applied["invoice_number"] == invoice["invoice_number"]
            assert applied["date"] == invoice["date"]
            assert applied["invoice_amount"] == invoice["total"]
            assert 0 < applied["amount_applied"] <= invoice["total"]
        applied_total = sum(row["amount_applied"] for row in payment["invoices"])
        assert payment["amount"] == round(applied_total + payment["unused_amount"], 2)


def test_payments_are_filtered_by_mode_and_orders_by_status() -> None:
    payments = SPECS["customerpayments"]
    assert status_matches(payments, {"payment_mode": "Bank Transfer"}, "PaymentMode.BankTransfer")
    assert not status_matches(payments, {"payment_mode": "Cash"}, "PaymentMode.Check")
    assert status_matches(payments, {"payment_mode": "Cash"}, "PaymentMode.All")
    orders = SPECS["salesorders"]
    assert status_matches(orders, {"status": "partially_invoiced"}, "Status.PartiallyInvoiced")


@pytest.mark.parametrize(
    ("entity", "date_field"),
    [("salesorders", "shipment_date"), ("purchaseorders", "delivery_date")],
)
def test_orders_carry_line_items_and_no_balance(entity: str, date_field: str) -> None:
    order = generate(CTX, entity, 4)
    assert order["sub_total"] == round(sum(li["item_total"] for li in order["line_items"]), 2)
    assert order[date_field] >= order["date"]
    assert "balance" not in order and "due_date" not in order
