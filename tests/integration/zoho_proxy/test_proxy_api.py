"""The HTTP contract of the proxy against the simulator (one replica)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .harness import Replica, Sim, start_sim


@pytest.fixture(name="setup")
async def fixture_setup(database_url: str) -> AsyncIterator[tuple[Sim, Replica]]:
    async with start_sim() as sim, Replica(sim.proxy_settings(database_url)) as replica:
        yield sim, replica


async def test_single_reads_follow_the_routing_matrix(setup: tuple[Sim, Replica]) -> None:
    sim, replica = setup
    client = replica.client
    page = await client.get("/v1/customers", params={"per_page": 3, "page": 2})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["entity"] == "customers" and body["source"] == "books"
    assert body["organization_id"] == sim.org
    assert len(body["records"]) == 3
    assert body["page_context"]["page"] == 2 and body["page_context"]["per_page"] == 3
    contact_id = body["records"][0]["contact_id"]

    customer = await client.get(f"/v1/customers/{contact_id}")
    assert customer.status_code == 200
    assert customer.json()["record"]["contact_id"] == contact_id
    assert customer.json()["source"] == "books"

    items = (await client.get("/v1/products", params={"per_page": 1})).json()["records"]
    item_id = items[0]["item_id"]
    product = (await client.get(f"/v1/products/{item_id}")).json()
    assert product["source"] == "books" and product["record"]["item_id"] == item_id
    stock = (await client.get(f"/v1/stock/{item_id}", headers={"X-TDS-Org": sim.org})).json()
    assert stock["source"] == "inventory"
    assert isinstance(stock["record"]["warehouses"], list) and stock["record"]["warehouses"]

    warehouses = (await client.get("/v1/warehouses")).json()
    assert warehouses["source"] == "inventory" and warehouses["records"]

    calls = (await sim.counters())["calls"]
    assert calls["GET /inventory/v1/items/{id}"] == {"200": 1}
    assert "GET /inventory/v1/items" not in calls  # products listed from Books only


async def test_absent_records_and_unknown_entities_are_404(setup: tuple[Sim, Replica]) -> None:
    sim, replica = setup
    missing = await replica.client.get("/v1/products/460111999999999999")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "not_found"
    calls = (await sim.counters())["calls"]
    # Books first, then the Inventory fallback, both asked.
    assert calls["GET /books/v3/items/{id}"] == {"404": 1}
    assert calls["GET /inventory/v1/items/{id}"] == {"404": 1}
    unknown = await replica.client.get("/v1/widgets/1")
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "not_found"
    bad_lane = await replica.client.get("/v1/invoices/1", headers={"X-TDS-Lane": "express"})
    assert bad_lane.status_code == 400 and "X-TDS-Lane" in bad_lane.json()["message"]
    wrong_org = await replica.client.get("/v1/invoices/1", params={"org_id": "60000000999"})
    assert wrong_org.status_code == 400
    assert wrong_org.json()["error_code"] == "upstream_rejected"


async def test_pass_through_adds_auth_and_organization(setup: tuple[Sim, Replica]) -> None:
    sim, replica = setup
    response = await replica.client.get("/zoho/inventory/items", params={"per_page": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 0 and len(body["items"]) == 2
    assert response.headers["x-rate-limit-remaining"].isdigit()
    unknown = await replica.client.get("/zoho/books/nothing-here")
    assert unknown.status_code == 404  # Zoho's own answer, passed through
    assert unknown.json()["code"] == 5
    assert "Zoho-oauthtoken" not in unknown.text
    # The simulator counted the call against this organization: organization_id was added.
    assert (await sim.budget("inventory"))["calls"] == 1


async def test_budget_health_and_metrics_endpoints(setup: tuple[Sim, Replica]) -> None:
    sim, replica = setup
    await replica.client.get("/v1/customers", params={"per_page": 1})
    budget = (await replica.client.get("/api/zoho/budget")).json()
    (books,) = [
        b for b in budget["budgets"] if b["organization_id"] == sim.org and b["product"] == "books"
    ]
    assert books["minute"]["used"] == 1 and books["minute"]["limit"] == 100
    assert books["in_flight"]["used"] == 0
    assert books["day"]["left"] <= 4999  # corrected from the simulator's headers
    assert budget["lane_waits"]["bulk"]["granted"] >= 1
    assert budget["token"]["state"] == "ok"
    health = (await replica.client.get("/health")).json()
    assert health["checks"]["zoho_token"] == "ok"
    assert (await replica.client.get("/ready")).status_code == 200
    metrics = (await replica.client.get("/metrics")).text
    assert 'tds_zoho_proxy_upstream_calls_total{api="books",lane="bulk",path="/contacts"' in metrics
    assert "tds_zoho_proxy_budget_remaining" in metrics
    assert sim.refresh_token not in metrics


async def test_pass_through_cannot_reach_the_token_endpoint(setup: tuple[Sim, Replica]) -> None:
    sim, replica = setup
    response = await replica.client.get("/zoho/books/%2E%2E/%2E%2E/oauth/v2/token")
    assert response.status_code == 400
    assert response.json()["error_code"] == "bad_request"
    assert (await sim.counters())["calls"] == {}  # nothing reached the simulator
