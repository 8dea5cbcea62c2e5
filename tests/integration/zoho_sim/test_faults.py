"""Faults on demand: 5xx, 429 storms, latency while in flight (``/_sim/faults``)."""

from __future__ import annotations

import asyncio

import httpx

from .helpers import BOOKS, ORG, SimClient, wait_in_flight


def test_fail_next_answers_internal_error_then_recovers(sim: SimClient) -> None:
    sim.control("PUT", "/faults", json={"fail_next": 2, "error_status": 503})
    for _ in range(2):
        response = sim.get("/invoices")
        assert response.status_code == 503
        assert response.json() == {"code": 1000, "message": "Internal Error"}
        assert "X-Rate-Limit-Remaining" in response.headers
    assert sim.get("/invoices").status_code == 200
    assert sim.control("GET", "/faults")["fail_next"] == 0


def test_error_rate_one_and_zero(sim: SimClient) -> None:
    sim.control("PUT", "/faults", json={"error_rate": 1.0})
    assert {sim.get("/items").status_code for _ in range(5)} == {500}
    sim.control("DELETE", "/faults")
    assert {sim.get("/items").status_code for _ in range(5)} == {200}


def test_429_storm_uses_the_chosen_code(sim: SimClient) -> None:
    sim.control("PUT", "/faults", json={"throttle_next": 3, "throttle_code": 1070})
    codes = [sim.get("/items").json()["code"] for _ in range(4)]
    assert codes == [1070, 1070, 1070, 0]
    assert sim.counters()["budgets"][ORG]["books"]["throttled"] == {"1070": 3}


def test_faults_reject_unknown_fields_and_bad_values(sim: SimClient) -> None:
    assert sim.http.put("/_sim/faults", json={"explode": True}).status_code == 422
    assert sim.http.put("/_sim/faults", json={"error_rate": 2}).status_code == 422
    assert sim.http.put("/_sim/faults", json={"throttle_code": 99}).status_code == 422


async def test_latency_keeps_calls_in_flight(sim: SimClient) -> None:
    sim.control("PUT", "/limits", json={"in_flight_limit": 1})
    sim.control("PUT", "/faults", json={"latency_seconds": 1.5})
    params = {"organization_id": ORG}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=sim.auth(), timeout=30) as client:
        slow = asyncio.create_task(client.get(f"{BOOKS}/items", params=params))
        await wait_in_flight(sim, 1)
        assert (await client.get(f"{BOOKS}/items", params=params)).json()["code"] == 1070
        assert (await slow).status_code == 200


def test_reset_clears_faults(sim: SimClient) -> None:
    sim.control("PUT", "/faults", json={"fail_next": 5})
    sim.reset(default_scale=300)
    assert sim.get("/items").status_code == 200
