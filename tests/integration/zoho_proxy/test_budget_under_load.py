"""Must show: three replicas hammered never breach Zoho's limits, and use the budget fully.

Three proxy apps share one PostgreSQL database (the session's) and one simulator whose window
is shortened to 50 calls per 2 s (25 calls/s: a rate a loaded two-core test machine can drive
through three in-process replicas and the simulator; at 100 per 2 s the machine, not the proxy,
becomes the limit), with an in-flight cap of 4 and a little latency so the cap
matters. Thirty callers spread over the replicas ask for three windows' worth at once: demand
exceeds the budget until the last call, so the calls per window over the whole run measure how
much of the budget the proxy used.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from contextlib import AsyncExitStack

import httpx

from .harness import Replica, start_sim

PER_WINDOW = 50
WINDOW_SECONDS = 2.0
IN_FLIGHT = 4
CALLS_PER_CALLER = 5
CALLERS = 30


async def test_three_replicas_stay_within_limits_and_use_the_budget(database_url: str) -> None:
    limits = {
        "per_minute": PER_WINDOW,
        "minute_window_seconds": WINDOW_SECONDS,
        "in_flight_limit": IN_FLIGHT,
    }
    async with start_sim(limits=limits) as sim, AsyncExitStack() as stack:
        await sim.put("/_sim/faults", {"latency_seconds": 0.01})
        settings = sim.proxy_settings(
            database_url, per_minute_limit=PER_WINDOW, window_seconds=WINDOW_SECONDS,
            window_margin_seconds=0.0, max_in_flight=IN_FLIGHT, daily_limit=100_000,
        )  # fmt: skip
        replicas = [await stack.enter_async_context(Replica(settings)) for _ in range(3)]
        listing = await replicas[0].client.get("/v1/customers", params={"per_page": 20})
        ids = [r["contact_id"] for r in listing.json()["records"]]
        await sim.post("/_sim/counters/reset", {})

        statuses: list[int] = []
        ids_cycle = itertools.cycle(ids)
        started = time.monotonic()

        async def caller(client: httpx.AsyncClient, lane: str) -> None:
            for _ in range(CALLS_PER_CALLER):
                response = await client.get(
                    f"/v1/customers/{next(ids_cycle)}", headers={"X-TDS-Lane": lane}
                )
                statuses.append(response.status_code)

        lanes = ["webhook", "incremental", "bulk"]
        await asyncio.gather(
            *(caller(replicas[i % 3].client, lanes[i % 3]) for i in range(CALLERS))
        )
        elapsed = time.monotonic() - started
        budget = await sim.budget("books")
        calls = await sim.counters()

    print(f"calls={budget['calls']} in {elapsed:.2f}s, peak window={budget['peak_window_calls']}, "
          f"in-flight peak={budget['in_flight_peak']}, callers={len(statuses)}")  # fmt: skip
    assert set(statuses) == {200}, f"callers saw {set(statuses)}"
    assert budget["calls"] == CALLERS * CALLS_PER_CALLER
    # The simulator's own view: never above a limit, never a 429.
    assert budget["throttled"] == {}
    assert not any("429" in by_status for by_status in calls["calls"].values())
    assert budget["peak_window_calls"] <= PER_WINDOW
    assert budget["in_flight_peak"] <= IN_FLIGHT
    # ...and the budget was used while there was demand.
    assert budget["peak_window_calls"] >= 0.95 * PER_WINDOW
    # Over the run the proxy kept Zoho as busy as the limit allows (the first window is spent
    # at once, so a perfect client finishes at (calls / limit - 1) windows plus the last burst).
    ideal = PER_WINDOW * elapsed / WINDOW_SECONDS
    assert budget["calls"] >= 0.95 * ideal, (budget["calls"], ideal)
