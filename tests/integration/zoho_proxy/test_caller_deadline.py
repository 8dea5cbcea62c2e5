"""X-TDS-Timeout-Seconds: the proxy answers within the caller's time and stops calling Zoho then.

Without it a caller that gave up (the processor's read timing out) left the proxy waiting for
budget, retrying and calling Zoho for nobody: budget spent twice, once for the lost answer.
"""

from __future__ import annotations

import random
import re

import pytest
from prometheus_client import REGISTRY

from .harness import Replica, start_sim


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _contact_id(replica: Replica) -> str:
    page = (await replica.client.get("/v1/customers", params={"per_page": 1})).json()
    return str(page["records"][0]["contact_id"])


async def test_retries_stop_at_the_callers_deadline(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The jitter draws the top of its range, so every pause is exactly 0.5 s: with a random
    # pause between 0.25 and 0.5 s, two pauses could fit in the caller's time or not.
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    async with start_sim() as sim:
        settings = sim.proxy_settings(
            database_url, retry_attempts=4, retry_initial_seconds=0.5, retry_max_seconds=0.5
        )
        async with Replica(settings) as replica:
            contact_id = await _contact_id(replica)
            await sim.put("/_sim/faults", {"error_rate": 1.0, "error_status": 500})
            hurried = await replica.client.get(
                f"/v1/customers/{contact_id}", headers={"X-TDS-Timeout-Seconds": "0.8"}
            )
            hurried_calls = (await sim.counters())["calls"]["GET /books/v3/contacts/{id}"]
            patient = await replica.client.get(f"/v1/customers/{contact_id}")
        calls = (await sim.counters())["calls"]["GET /books/v3/contacts/{id}"]

    assert hurried.status_code == patient.status_code == 502
    # Two attempts fit in 0.8 s with 0.5 s between them (a third would start after 1 s); the
    # caller without a deadline gets all four.
    assert hurried_calls == {"500": 2}
    assert calls == {"500": 6}


async def test_a_slow_zoho_answer_is_not_awaited_past_the_callers_deadline(
    database_url: str,
) -> None:
    async with start_sim() as sim:
        async with Replica(sim.proxy_settings(database_url, retry_attempts=3)) as replica:
            contact_id = await _contact_id(replica)
            timeouts = _sample(
                "tds_zoho_proxy_upstream_failures_total", api="books", kind="timeout"
            )
            retries = _sample(
                "tds_zoho_proxy_upstream_retries_total", api="books", reason="timeout"
            )
            await sim.put("/_sim/faults", {"latency_seconds": 1.5})
            slow = await replica.client.get(
                f"/v1/customers/{contact_id}", headers={"X-TDS-Timeout-Seconds": "0.5"}
            )
            await sim.control.delete("/_sim/faults")

    assert slow.status_code == 503 and slow.json()["error_code"] == "zoho_unavailable"
    assert re.search(r"within 0\.[45]\d* s", slow.json()["message"])
    # One attempt, cut at the caller's deadline; no retry after the caller's time ran out.
    assert _sample("tds_zoho_proxy_upstream_failures_total", api="books", kind="timeout") == (
        timeouts + 1
    )
    assert _sample("tds_zoho_proxy_upstream_retries_total", api="books", reason="timeout") == (
        retries
    )


async def test_a_timeout_that_is_not_a_positive_number_is_refused(database_url: str) -> None:
    async with start_sim() as sim:
        async with Replica(sim.proxy_settings(database_url)) as replica:
            answers = [
                await replica.client.get(
                    "/v1/customers/1", headers={"X-TDS-Timeout-Seconds": value}
                )
                for value in ("soon", "-1", "0", "nan", "inf")
            ]
        calls = (await sim.counters())["calls"]

    assert [a.status_code for a in answers] == [400] * 5
    assert all("X-TDS-Timeout-Seconds" in a.json()["message"] for a in answers)
    assert "GET /books/v3/contacts/{id}" not in calls
