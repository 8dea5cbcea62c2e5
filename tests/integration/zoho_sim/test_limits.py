"""Per-minute, daily and in-flight limits per org and product, over HTTP.

The rules: docs/zoho-api.md#rate-limits.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import httpx
import pytest

from .helpers import BOOKS, INVENTORY, ORG, SimClient, wait_in_flight

PER_MINUTE = {
    "code": 44,
    "message": (
        "For security reasons your organization has been blocked as it have exceeded the maximum "
        "number of requests per minute that can originate from an organization."
    ),
}
IN_FLIGHT = {
    "code": 1070,
    "message": (
        "You have reached the maximum number of in process requests allowed. "
        "Kindly try again after some time."
    ),
}


def _advance(sim: SimClient, seconds: float) -> None:
    sim.control("POST", "/clock", json={"advance_seconds": seconds})


def test_per_minute_limit_is_code_44_per_product_without_retry_after(sim: SimClient) -> None:
    sim.control("PUT", "/limits", json={"per_minute": 5})
    for _ in range(5):
        assert sim.get("/items").status_code == 200
    response = sim.get("/items")
    assert response.status_code == 429
    assert response.json() == PER_MINUTE
    assert "Retry-After" not in response.headers
    assert response.headers["X-Rate-Limit-Limit"] == "5000"
    # Inventory is a separate pool; Books recovers when the window has passed.
    assert sim.get("/items", root=INVENTORY).status_code == 200
    _advance(sim, 60)
    assert sim.get("/items").status_code == 200
    books = sim.counters()["budgets"][ORG]["books"]
    assert books["throttled"] == {"44": 1}
    assert books["peak_window_calls"] == 6
    assert books["peak_window_admitted"] == 5
    assert sim.counters()["calls"]["GET /books/v3/items"] == {"200": 6, "429": 1}


def test_window_length_is_configurable(sim: SimClient) -> None:
    sim.control("PUT", "/limits", json={"per_minute": 10, "minute_window_seconds": 2})
    for _ in range(10):
        assert sim.get("/contacts", per_page=1).status_code == 200
    assert sim.get("/contacts", per_page=1).json()["code"] == 44
    _advance(sim, 2)
    assert sim.get("/contacts", per_page=1).status_code == 200
    assert sim.counters()["budgets"][ORG]["books"]["window_seconds"] == 2


def test_shared_pools_when_configured(sim: SimClient) -> None:
    sim.control("PUT", "/limits", json={"per_minute": 2, "shared_product_pools": True})
    assert sim.get("/items").status_code == 200
    assert sim.get("/items", root=INVENTORY).status_code == 200
    assert sim.get("/items", root=INVENTORY).json()["code"] == 44


def test_daily_quota_is_code_45_with_the_quota_in_the_message(sim: SimClient) -> None:
    sim.control("PUT", "/limits", json={"daily_quota": 3})
    remaining = [sim.get("/items").headers["X-Rate-Limit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    response = sim.get("/items")
    assert response.status_code == 429
    assert response.json() == {
        "code": 45,
        "message": (
            "The API call for this organization has exceeded the maximum call rate limit of 3."
        ),
    }
    assert response.headers["X-Rate-Limit-Remaining"] == "0"
    reset = int(response.headers["X-Rate-Limit-Reset"])
    assert 0 < reset <= 86400
    _advance(sim, reset)
    sim.forget_token()  # a day later the access token has expired too
    assert sim.get("/items").status_code == 200


def test_daily_quota_and_in_flight_follow_the_plan(custom_sim: Callable[..., SimClient]) -> None:
    sim = custom_sim(
        organizations=[
            {"organization_id": ORG, "plan": "free"},
            {"organization_id": "70000000002", "plan": "premium"},
        ]
    )
    free_books = sim.get("/items")
    assert free_books.headers["X-Rate-Limit-Limit"] == "1000"
    assert (
        sim.get("/items", root=INVENTORY, org="70000000002").headers["X-Rate-Limit-Limit"] == "7500"
    )
    assert sim.get("/items", org="70000000002").headers["X-Rate-Limit-Limit"] == "10000"
    budgets = sim.counters()["budgets"]
    assert budgets[ORG]["books"]["in_flight_limit"] == 5
    assert budgets["70000000002"]["books"]["in_flight_limit"] == 10


async def test_in_flight_limit_is_code_1070(sim: SimClient) -> None:
    sim.control("PUT", "/limits", json={"in_flight_limit": 2})
    sim.control("PUT", "/faults", json={"hold": True})
    url, headers = sim.base_url, sim.auth()
    params = {"organization_id": ORG}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        held = [asyncio.create_task(client.get(f"{BOOKS}/items", params=params)) for _ in range(2)]
        await wait_in_flight(sim, 2)
        third = await client.get(f"{BOOKS}/items", params=params)
        assert third.status_code == 429
        assert third.json() == IN_FLIGHT
        assert "Retry-After" not in third.headers
        sim.control("POST", "/faults/release")
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
    books = sim.counters()["budgets"][ORG]["books"]
    assert books["in_flight_peak"] == 2
    assert books["in_flight"] == 0
    assert books["throttled"] == {"1070": 1}


def test_limits_reject_bad_values(sim: SimClient) -> None:
    response = sim.http.put("/_sim/limits", json={"per_minute": 0})
    assert response.status_code == 422
    response = sim.http.put("/_sim/limits", json={"per_second": 5})
    assert response.status_code == 422
    assert "unknown fields" in response.text


def test_admissions_say_when_each_admitted_call_arrived(sim: SimClient) -> None:
    sim.control("PUT", "/limits", json={"per_minute": 2})
    assert sim.get("/items").status_code == 200
    _advance(sim, 5)
    assert sim.get("/items").status_code == 200
    assert sim.get("/items").status_code == 429  # rejected: not an admission
    _advance(sim, 60)
    assert sim.get("/items").status_code == 200
    books = sim.control("GET", "/admissions")[ORG]["books"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(books)]
    assert len(books) == 3
    assert gaps == [pytest.approx(5, abs=0.5), pytest.approx(60, abs=0.5)]
