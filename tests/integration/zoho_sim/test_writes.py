"""API writes: POST/PUT/DELETE with Zoho's request shapes, validation, webhooks, the budget,
the search a client finds its own create with, and a write failed after it was applied."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .helpers import BOOKS, ORG, SimClient

WEBHOOK_SINK = "http://127.0.0.1:9/api/zoho/webhooks/{entity}"
"""Nothing listens there: deliveries are still recorded, which is all these tests read."""


def write(
    sim: SimClient, method: str, path: str, body: Any = None, **kwargs: Any
) -> httpx.Response:
    return sim.http.request(
        method,
        f"{BOOKS}{path}",
        params={"organization_id": ORG},
        headers=sim.auth(),
        json=body,
        **kwargs,
    )


def first_id(sim: SimClient, path: str, key: str, id_field: str) -> str:
    return str(sim.ok(path, per_page=1)[key][0][id_field])


def new_invoice(sim: SimClient, **fields: Any) -> dict[str, Any]:
    item = first_id(sim, "/items", "items", "item_id")
    return {
        "customer_id": first_id(sim, "/contacts", "contacts", "contact_id"),
        "reference_number": "tds-key-1",
        "line_items": [
            {"item_id": item, "quantity": 2, "rate": 10.5},
            {"name": "Labour", "rate": 5},
        ],
        **fields,
    }


def test_create_invoice_with_line_items_is_stored_listed_counted_and_delivered(
    sim: SimClient,
) -> None:
    sim.control("PUT", "/webhooks", json={"url_template": WEBHOOK_SINK})
    payload = new_invoice(sim)
    used_before = sim.counters()["budgets"][ORG]["books"]["daily_used"]
    response = write(sim, "POST", "/invoices", payload)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["code"], body["message"]) == (0, "The invoice has been created.")
    invoice = body["invoice"]
    assert [line["item_total"] for line in invoice["line_items"]] == [21.0, 5.0]
    assert invoice["total"] == 26.0 and invoice["customer_name"]
    assert all(line["line_item_id"] for line in invoice["line_items"])
    stored = sim.ok(f"/invoices/{invoice['invoice_id']}")["invoice"]
    assert stored == invoice
    found = sim.ok("/invoices", reference_number="tds-key-1")["invoices"]
    assert [row["invoice_id"] for row in found] == [invoice["invoice_id"]]
    assert sim.ok("/invoices", reference_number="other-key")["invoices"] == []
    assert sim.control("GET", "/writes") == {"POST invoices": 1}
    counters = sim.counters()
    assert counters["calls"]["POST /books/v3/invoices"] == {"201": 1}
    # the POST and the three reads after it, each counted in the budget
    assert counters["budgets"][ORG]["books"]["daily_used"] == used_before + 4
    delivered = sim.control("GET", "/webhooks/deliveries")
    assert [(d["event"], d["id"]) for d in delivered] == [("create", invoice["invoice_id"])]


def test_json_string_form_field_and_custom_field_search(sim: SimClient) -> None:
    contact = {
        "contact_name": "Acme Form",
        "custom_fields": [{"api_name": "cf_tds_key", "value": "key-7"}],
    }
    response = sim.http.post(
        f"{BOOKS}/contacts",
        params={"organization_id": ORG},
        headers=sim.auth(),
        data={"JSONString": json.dumps(contact)},
    )
    assert response.status_code == 201, response.text
    created = response.json()["contact"]
    assert created["custom_field_hash"]["cf_tds_key"] == "key-7"
    found = sim.ok("/contacts", cf_tds_key="key-7")["contacts"]
    assert [row["contact_id"] for row in found] == [created["contact_id"]]


def test_update_replaces_fields_and_lines_and_bumps_the_version(sim: SimClient) -> None:
    created = write(sim, "POST", "/invoices", new_invoice(sim)).json()["invoice"]
    response = write(
        sim,
        "PUT",
        f"/invoices/{created['invoice_id']}",
        {"notes": "changed", "line_items": [{"name": "Only", "rate": 3}]},
    )
    assert response.status_code == 200, response.text
    updated = response.json()["invoice"]
    assert updated["notes"] == "changed" and updated["total"] == 3.0
    assert [line["name"] for line in updated["line_items"]] == ["Only"]
    assert updated["last_modified_time"] > created["last_modified_time"]
    assert updated["reference_number"] == "tds-key-1"


def test_delete_then_delete_again_is_1002(sim: SimClient) -> None:
    created = write(sim, "POST", "/items", {"name": "Gadget", "rate": 4}).json()["item"]
    path = f"/items/{created['item_id']}"
    assert write(sim, "DELETE", path).json() == {"code": 0, "message": "The item has been deleted."}
    again = write(sim, "DELETE", path)
    assert again.status_code == 404
    assert again.json() == {"code": 1002, "message": "Item does not exist."}
    assert write(sim, "PUT", path, {"name": "x"}).json()["code"] == 1002


def test_validation_errors_change_nothing(sim: SimClient) -> None:
    missing = write(sim, "POST", "/invoices", new_invoice(sim, customer_id=""))
    assert missing.status_code == 400
    assert missing.json() == {"code": 4, "message": "customer_id is mandatory."}
    unknown = write(sim, "POST", "/invoices", new_invoice(sim, customer_id="123"))
    assert unknown.json() == {"code": 2, "message": "Invalid value passed for customer_id"}
    bad_item = new_invoice(sim, line_items=[{"item_id": "999", "rate": 1}])
    assert write(sim, "POST", "/invoices", bad_item).json()["code"] == 2
    not_json = sim.http.post(
        f"{BOOKS}/contacts",
        params={"organization_id": ORG},
        headers=sim.auth(),
        content=b"{nope",
    )
    assert not_json.json() == {"code": 2, "message": "Invalid value passed for JSONString"}
    assert sim.control("GET", "/writes") == {}
    assert sim.ok("/invoices", reference_number="tds-key-1")["invoices"] == []


def test_validation_codes_are_configurable(custom_sim: Callable[..., SimClient]) -> None:
    sim = custom_sim(writes={"missing_field_code": 1001, "required_fields": {"items": ["sku"]}})
    response = write(sim, "POST", "/items", {"name": "No sku"})
    assert response.json() == {"code": 1001, "message": "sku is mandatory."}


def test_a_write_failed_after_applying_is_stored_and_answered_500(sim: SimClient) -> None:
    sim.control("PUT", "/write-faults", json={"fail_after_apply_next": 1})
    response = write(sim, "POST", "/invoices", new_invoice(sim, reference_number="lost-answer"))
    assert response.status_code == 500
    assert response.json()["code"] == 1000
    found = sim.ok("/invoices", reference_number="lost-answer")["invoices"]
    assert len(found) == 1, "the write was applied although its answer was an error"
    assert sim.control("GET", "/write-faults")["fail_after_apply_next"] == 0
    assert sim.control("GET", "/writes") == {"POST invoices": 1}


def test_writes_only_on_write_modules(sim: SimClient) -> None:
    assert write(sim, "POST", "/pricebooks", {"name": "x"}).status_code == 405
    assert write(sim, "POST", "/invoices/123", {}).status_code == 405
    assert write(sim, "PATCH", "/items", {}).status_code == 405


def test_a_held_answer_leaves_the_write_applied(sim: SimClient) -> None:
    sim.control("PUT", "/write-faults", json={"hold_after_apply": True})
    try:
        with pytest.raises(httpx.ReadTimeout):
            write(sim, "POST", "/invoices", new_invoice(sim, reference_number="held"), timeout=0.5)
        assert len(sim.ok("/invoices", reference_number="held")["invoices"]) == 1
    finally:
        sim.control("PUT", "/write-faults", json={"hold_after_apply": False})
    assert sim.control("GET", "/writes") == {"POST invoices": 1}
