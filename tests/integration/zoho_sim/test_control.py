"""The control API's own contract: reset, counters, clock, health, clear errors."""

from __future__ import annotations

import httpx

from zoho_sim.settings import SimSettings
from zoho_sim.testing import run_in_thread

from .helpers import INVENTORY, ORG, SimClient


def test_reset_with_scale_changes_the_dataset(sim: SimClient) -> None:
    sim.reset(scale={"contacts": 7}, default_scale=3)
    assert len(sim.all_ids("/contacts", "contacts", "contact_id")) == 7
    assert len(sim.all_ids("/invoices", "invoices", "invoice_id")) == 3
    assert len(sim.ok("/settings/warehouses", root=INVENTORY)["warehouses"]) == 3
    response = sim.http.post("/_sim/reset", json={"scale": {"widgets": 1}})
    assert response.status_code == 422


def test_reset_clears_edits_and_restores_seeded_records(sim: SimClient) -> None:
    item = sim.ok("/items", per_page=1)["items"][0]
    sim.control("PATCH", f"/orgs/{ORG}/items/{item['item_id']}", json={"name": "Changed"})
    sim.reset(default_scale=300)
    assert sim.ok(f"/items/{item['item_id']}")["item"]["name"] == item["name"]


def test_counters_reset_and_call_templates(sim: SimClient) -> None:
    item_id = sim.ok("/items", per_page=1)["items"][0]["item_id"]
    sim.get(f"/items/{item_id}")
    calls = sim.counters()["calls"]
    assert calls["GET /books/v3/items/{id}"] == {"200": 1}
    assert sim.counters()["oauth"]["mints"] == 1
    sim.control("POST", "/counters/reset")
    counters = sim.counters()
    assert counters["calls"] == {} and counters["budgets"] == {}


def test_clock_only_moves_forward(sim: SimClient) -> None:
    assert sim.http.post("/_sim/clock", json={"advance_seconds": -1}).status_code == 422
    first = sim.control("POST", "/clock", json={"advance_seconds": 5})["offset_seconds"]
    assert sim.control("POST", "/clock", json={"advance_seconds": 5})["offset_seconds"] == first + 5


def test_health_probes(sim: SimClient) -> None:
    for path in ("/health", "/ready", "/_sim/health"):
        assert sim.http.get(path).json() == {"status": "healthy"}
    assert sim.http.get("/_sim/openapi.json").status_code == 200


def test_run_in_thread_honours_a_fixed_port_and_stops() -> None:
    with run_in_thread(SimSettings(port=0, default_scale=1)) as url:
        port = int(url.rsplit(":", 1)[1])
    with run_in_thread(SimSettings(port=port, default_scale=1)) as url:
        assert url.endswith(f":{port}")
        assert httpx.get(f"{url}/health").status_code == 200
    try:
        httpx.get(f"{url}/health", timeout=2)
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("the server still answers after the context exited")
