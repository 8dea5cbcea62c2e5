"""Must show: webhook calls overtake queued bulk calls; bulk stops at the daily reserve."""

from __future__ import annotations

import asyncio

from .harness import Replica, start_sim


async def test_webhook_overtakes_a_queue_of_bulk_calls(database_url: str) -> None:
    limits = {"per_minute": 5, "minute_window_seconds": 1.0}
    async with start_sim(limits=limits) as sim:
        settings = sim.proxy_settings(
            database_url, per_minute_limit=5, window_seconds=1.0, window_margin_seconds=0.0
        )
        async with Replica(settings) as replica:
            finished: list[str] = []

            async def call(name: str, lane: str) -> None:
                response = await replica.client.get(
                    "/v1/customers", params={"per_page": 1}, headers={"X-TDS-Lane": lane}
                )
                assert response.status_code == 200, response.text
                finished.append(name)

            bulk = [asyncio.create_task(call(f"bulk{i}", "bulk")) for i in range(15)]
            # Wait until the first window is spent and the rest of the bulk calls queue.
            for _ in range(500):
                budget = (await replica.client.get("/api/zoho/budget")).json()
                books = [
                    b
                    for b in budget["budgets"]
                    if b["product"] == "books" and b["organization_id"] == sim.org
                ]
                if books and books[0]["waiting"]["bulk"] >= 9:
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("bulk calls never queued")
            await call("webhook", "webhook")
            after_webhook = 15 - sum(name.startswith("bulk") for name in finished)
            await asyncio.gather(*bulk)
        counters = await sim.budget("books")

    # At most the bulk call already at the head of the queue went before the webhook.
    assert after_webhook >= 8, finished
    assert finished.index("webhook") <= 6
    assert counters["throttled"] == {}
    assert counters["peak_window_calls"] <= 5


async def test_bulk_stops_at_the_daily_reserve(database_url: str) -> None:
    async with start_sim(limits={"daily_quota": 20}) as sim:
        settings = sim.proxy_settings(database_url, daily_limit=20, daily_reserve=5)
        async with Replica(settings) as replica:

            async def list_page(lane: str) -> tuple[int, dict[str, str], dict[str, str]]:
                response = await replica.client.get(
                    "/v1/customers", params={"per_page": 1}, headers={"X-TDS-Lane": lane}
                )
                return response.status_code, dict(response.headers), response.json()

            bulk = [await list_page("bulk") for _ in range(17)]
            webhook = [await list_page("webhook") for _ in range(6)]
        counters = await sim.budget("books")

    assert [status for status, _, _ in bulk] == [200] * 15 + [429, 429]
    _, headers, body = bulk[-1]
    assert body["error_code"] == "budget_exhausted"
    assert "reserve" in body["message"]
    assert int(headers["retry-after"]) > 3600  # until the daily window resets
    # The reserve is there for live traffic: webhooks spend it, then stop before Zoho would.
    assert [status for status, _, _ in webhook] == [200] * 5 + [429]
    assert counters["daily_used"] == 20
    assert counters["throttled"] == {}
