"""Webhook deliveries for record changes, the way a Zoho workflow rule sends them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from zoho_sim.entities import SPECS
from zoho_sim.testing import serve_app_in_thread

from .helpers import INVENTORY, ORG, TIMESTAMP_RE, SimClient


@dataclass
class Receiver:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture(scope="module", name="receiver")
def fixture_receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    async def hook(request: Request) -> JSONResponse:
        raw = await request.body()
        state.received.append(
            {
                "path": request.url.path,
                "query": dict(request.query_params),
                "headers": dict(request.headers),
                "raw": raw,
                "json": json.loads(raw) if raw.startswith(b"{") else None,
            }
        )
        return JSONResponse({"ok": True}, status_code=state.status)

    app = Starlette(routes=[Route("/api/zoho/webhooks/{entity}", hook, methods=["POST"])])
    with serve_app_in_thread(app) as url:
        state.url = url
        yield state


@pytest.fixture(name="hooked")
def fixture_hooked(sim: SimClient, receiver: Receiver) -> Receiver:
    receiver.received.clear()
    receiver.status = 200
    sim.control(
        "PUT",
        "/webhooks",
        json={
            "url_template": receiver.url + "/api/zoho/webhooks/{entity}",
            "headers": {"X-TDS-Webhook-Token": "hook-secret"},
            "entity_urls": {},
            "entities": None,
            "payload_fields": [],
            "body_format": "json",
            "daily_limit": 1000,
            "query": {"org_id": ORG},
            "hmac_secret": "hmac-secret-123456",
        },
    )
    return receiver


def test_edit_delivers_the_full_record_under_its_singular_key(
    sim: SimClient, hooked: Receiver
) -> None:
    item = sim.ok("/items", per_page=1)["items"][0]
    result = sim.control("PATCH", f"/orgs/{ORG}/products/{item['item_id']}", json={"rate": 12.5})
    assert result["webhook"]["status"] == 200
    [call] = hooked.received
    assert call["path"] == "/api/zoho/webhooks/products"
    assert call["query"] == {"org_id": ORG}
    assert call["headers"]["x-tds-webhook-token"] == "hook-secret"
    assert call["headers"]["content-type"] == "application/json"
    expected = hmac.new(b"hmac-secret-123456", call["raw"], hashlib.sha256).hexdigest()
    assert call["headers"]["x-zoho-webhook-signature"] == expected
    assert set(call["json"]) == {"item"}
    sent = call["json"]["item"]
    assert sent["item_id"] == item["item_id"] and sent["rate"] == 12.5
    assert re.match(TIMESTAMP_RE, sent["last_modified_time"])
    assert sent["last_modified_time"] > item["last_modified_time"]
    # The API now serves the edit, and an incremental list from the new stamp finds it.
    assert sim.ok(f"/items/{item['item_id']}")["item"]["rate"] == 12.5
    rows = sim.ok("/items", last_modified_time=sent["last_modified_time"])["items"]
    assert [row["item_id"] for row in rows] == [item["item_id"]]


@pytest.mark.parametrize(
    ("entity", "path", "key"),
    [
        (spec.tds_name, spec.path, spec.detail_key)
        for spec in SPECS.values()
        if spec.webhook and spec.path != "items"  # items: the tests above
    ],
)
def test_each_entity_posts_to_its_tds_name(
    sim: SimClient, hooked: Receiver, entity: str, path: str, key: str
) -> None:
    row = sim.ok(f"/{path}", per_page=1)[path][0]
    record_id = row[SPECS[path].id_field]
    sim.control("PATCH", f"/orgs/{ORG}/{path}/{record_id}", json={"reference_number": "X-1"})
    [call] = hooked.received
    assert call["path"] == f"/api/zoho/webhooks/{entity}"
    assert call["json"][key][SPECS[path].id_field] == record_id
    if "line_items" in SPECS[path].summary_drops:
        assert call["json"][key]["line_items"], "the default payload is the full record"


def test_create_delivers_and_the_record_is_listed(sim: SimClient, hooked: Receiver) -> None:
    result = sim.control("POST", f"/orgs/{ORG}/customers", json={"contact_name": "Acme New"})
    record = result["record"]
    assert re.match(r"^\d{18}$", record["contact_id"])
    assert record["created_time"] == record["last_modified_time"]
    assert hooked.received[0]["json"]["contact"]["contact_name"] == "Acme New"
    assert sim.ok(f"/contacts/{record['contact_id']}")["contact"]["contact_name"] == "Acme New"
    ids = sim.all_ids("/contacts", "contacts", "contact_id")
    assert len(ids) == len(set(ids)) == 301
    assert record["contact_id"] in ids


def test_delete_is_not_delivered_unless_configured(sim: SimClient, hooked: Receiver) -> None:
    ids = [row["invoice_id"] for row in sim.ok("/invoices", per_page=2)["invoices"]]
    assert sim.control("DELETE", f"/orgs/{ORG}/invoices/{ids[0]}")["webhook"] is None
    assert hooked.received == []
    assert sim.get(f"/invoices/{ids[0]}").json()["code"] == 1002
    assert ids[0] not in sim.all_ids("/invoices", "invoices", "invoice_id")
    sim.control(
        "PUT",
        "/webhooks",
        json={
            "events": ["create", "edit", "delete"],
            "url_template": hooked.url + "/api/zoho/webhooks/{entity}?event={event}",
        },
    )
    sim.control("DELETE", f"/orgs/{ORG}/invoices/{ids[1]}")
    [call] = hooked.received
    assert call["query"] == {"event": "delete", "org_id": ORG}
    assert call["json"]["invoice"]["invoice_id"] == ids[1]


def test_stock_movement_delivers_inventory_item_with_warehouses(
    sim: SimClient, hooked: Receiver
) -> None:
    items = sim.ok("/items", root=INVENTORY, per_page=20)["items"]
    item = next(row for row in items if row["track_inventory"])
    before = sim.ok(f"/items/{item['item_id']}", root=INVENTORY)["item"]
    warehouse = before["warehouses"][1]
    sim.control(
        "POST",
        f"/orgs/{ORG}/stock",
        json={"item_id": item["item_id"], "warehouse_id": warehouse["warehouse_id"], "delta": -3},
    )
    [call] = hooked.received
    assert call["path"] == "/api/zoho/webhooks/stock"
    sent = call["json"]["item"]
    row = next(w for w in sent["warehouses"] if w["warehouse_id"] == warehouse["warehouse_id"])
    assert row["warehouse_stock_on_hand"] == warehouse["warehouse_stock_on_hand"] - 3
    assert sent["stock_on_hand"] == before["stock_on_hand"] - 3
    assert sent["last_modified_time"] > before["last_modified_time"]
    after = sim.ok(f"/items/{item['item_id']}", root=INVENTORY)["item"]
    assert after["stock_on_hand"] == before["stock_on_hand"] - 3


def test_dropped_and_failed_deliveries_are_recorded(sim: SimClient, hooked: Receiver) -> None:
    item_id = sim.ok("/items", per_page=1)["items"][0]["item_id"]
    sim.control("PUT", "/faults", json={"drop_webhooks_next": 1})
    assert sim.control("PATCH", f"/orgs/{ORG}/items/{item_id}", json={"rate": 1})["webhook"][
        "dropped"
    ]
    assert hooked.received == []
    hooked.status = 500
    sim.control("PATCH", f"/orgs/{ORG}/items/{item_id}", json={"rate": 2})
    assert len(hooked.received) == 1
    deliveries = sim.control("GET", "/webhooks/deliveries")
    assert [(d["dropped"], d["status"]) for d in deliveries] == [(True, None), (False, 500)]
    assert sim.counters()["webhooks"] == {
        "delivered": 0,
        "dropped": 1,
        "failed": 1,
        "over_limit": 0,
    }


def test_webhook_config_masks_secrets_and_validates(sim: SimClient, hooked: Receiver) -> None:
    config = sim.control("GET", "/webhooks")
    assert config["headers"] == {"X-TDS-Webhook-Token": "***"}
    assert config["hmac_secret"] == "***"
    assert "hook-secret" not in json.dumps(sim.control("GET", "/webhooks/deliveries"))
    bad = sim.http.put("/_sim/webhooks", json={"url_template": "http://x/{nope}"})
    assert bad.status_code == 422


def test_mutation_errors_are_clear(sim: SimClient) -> None:
    assert sim.http.patch(f"/_sim/orgs/{ORG}/items/1", json={}).status_code == 404
    assert sim.http.patch("/_sim/orgs/1/items/1", json={}).status_code == 404
    response = sim.http.post(f"/_sim/orgs/{ORG}/widgets", json={})
    assert response.status_code == 404 and "unknown entity" in response.text
    item_id = sim.ok("/items", per_page=1)["items"][0]["item_id"]
    response = sim.http.patch(f"/_sim/orgs/{ORG}/items/{item_id}", json={"item_id": "1"})
    assert response.status_code == 422


def test_thin_payload_per_entity_url_and_entity_filter(sim: SimClient, hooked: Receiver) -> None:
    sim.control(
        "PUT",
        "/webhooks",
        json={
            "payload_fields": ["item_id", "last_modified_time"],
            "entity_urls": {"stock": hooked.url + "/api/zoho/webhooks/stock?kind=thin"},
            "entities": ["products", "stock"],
        },
    )
    items = sim.ok("/items", root=INVENTORY, per_page=20)["items"]
    item = next(row for row in items if row["track_inventory"])
    warehouse_id = sim.ok(f"/items/{item['item_id']}", root=INVENTORY)["item"]["warehouses"][0][
        "warehouse_id"
    ]
    sim.control(
        "POST",
        f"/orgs/{ORG}/stock",
        json={"item_id": item["item_id"], "warehouse_id": warehouse_id, "quantity": 5},
    )
    contact_id = sim.ok("/contacts", per_page=1)["contacts"][0]["contact_id"]
    assert sim.control("PATCH", f"/orgs/{ORG}/customers/{contact_id}", json={})["webhook"] is None
    [call] = hooked.received
    assert call["query"] == {"kind": "thin", "org_id": ORG}
    assert set(call["json"]["item"]) == {"item_id", "last_modified_time"}


def test_form_body_carries_json_string(sim: SimClient, hooked: Receiver) -> None:
    sim.control("PUT", "/webhooks", json={"body_format": "form"})
    bill_id = sim.ok("/bills", per_page=1)["bills"][0]["bill_id"]
    sim.control("PATCH", f"/orgs/{ORG}/bills/{bill_id}", json={"reference_number": "F"})
    [call] = hooked.received
    assert call["headers"]["content-type"] == "application/x-www-form-urlencoded"
    payload = json.loads(parse_qs(call["raw"].decode())["JSONString"][0])
    assert payload["bill"]["bill_id"] == bill_id


def test_unknown_webhook_entity_is_rejected(sim: SimClient) -> None:
    response = sim.http.put("/_sim/webhooks", json={"entities": ["orders"]})
    assert response.status_code == 422
    assert "unknown webhook entities" in response.text


def test_created_items_follow_track_inventory(sim: SimClient) -> None:
    for _ in range(10):  # some generated indexes are services: the flag must win either way
        tracked = sim.control("POST", f"/orgs/{ORG}/items", json={"track_inventory": True})
        record = tracked["record"]
        assert len(record["warehouses"]) == 3
        assert record["stock_on_hand"] == sum(
            w["warehouse_stock_on_hand"] for w in record["warehouses"]
        )
        untracked = sim.control("POST", f"/orgs/{ORG}/items", json={"track_inventory": False})
        assert "warehouses" not in untracked["record"]
        assert "stock_on_hand" not in untracked["record"]
    item_id = record["item_id"]
    edited = sim.control("PATCH", f"/orgs/{ORG}/items/{item_id}", json={"track_inventory": False})
    assert "stock_on_hand" not in edited["record"]


async def test_delivery_can_run_in_the_background(sim: SimClient, hooked: Receiver) -> None:
    item_id = sim.ok("/items", per_page=1)["items"][0]["item_id"]
    result = sim.control("PATCH", f"/orgs/{ORG}/items/{item_id}?wait=false", json={"rate": 3})
    assert result["webhook"] == {"scheduled": True}
    for _ in range(500):
        if sim.control("GET", "/webhooks/deliveries"):
            break
        await asyncio.sleep(0.01)
    [delivery] = sim.control("GET", "/webhooks/deliveries")
    assert delivery["status"] == 200 and delivery["id"] == item_id


def test_daily_webhook_execution_limit(sim: SimClient, hooked: Receiver) -> None:
    sim.control("PUT", "/webhooks", json={"daily_limit": 2})
    item_id = sim.ok("/items", per_page=1)["items"][0]["item_id"]
    results = [
        sim.control("PATCH", f"/orgs/{ORG}/items/{item_id}", json={"rate": n})["webhook"]
        for n in range(3)
    ]
    assert [r["skipped"] for r in results] == [None, None, "daily webhook execution limit"]
    assert len(hooked.received) == 2
    assert sim.counters()["webhooks"]["over_limit"] == 1
    sim.control("POST", "/clock", json={"advance_seconds": 86400})
    sim.control("PATCH", f"/orgs/{ORG}/items/{item_id}", json={"rate": 9})
    assert len(hooked.received) == 3
