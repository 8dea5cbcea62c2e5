"""zoho-sim speed: Zoho calls against a 50,000-item org, as ratios to a trivial round trip.

The baseline is ``GET /_sim/health`` on the same server in the same run, so the ratios say what
the simulator itself adds per call (HTTP and JSON are in both).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import httpx

from zoho_sim.settings import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    SimSettings,
)
from zoho_sim.testing import run_in_thread

ORG = "60000000001"


def _median_seconds(call: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    settings = SimSettings(port=0, scale={"items": 50_000}, default_scale=200)
    with run_in_thread(settings) as url, httpx.Client(base_url=url, timeout=60) as client:
        client.put("/_sim/limits", json={"per_minute": 1_000_000, "daily_quota": 1_000_000})
        token = client.post(
            "/oauth/v2/token",
            params={
                "grant_type": "refresh_token",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "refresh_token": DEFAULT_REFRESH_TOKEN,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Zoho-oauthtoken {token}"}

        def page(number: int) -> None:
            response = client.get(
                "/inventory/v1/items",
                headers=headers,
                params={
                    "organization_id": ORG,
                    "per_page": 200,
                    "page": number,
                    "sort_column": "last_modified_time",
                    "sort_order": "A",
                },
            )
            response.raise_for_status()

        baseline = _median_seconds(lambda: client.get("/_sim/health"), 200)
        started = time.perf_counter()
        page(1)  # builds the sorted view of 50,000 items
        first_page = time.perf_counter() - started
        pages = iter(range(2, 10_000))
        list_page = _median_seconds(lambda: page(next(pages)), 50)
        detail = _median_seconds(
            lambda: client.get(
                "/inventory/v1/items/460111000000012345",
                headers=headers,
                params={"organization_id": ORG},
            ),
            200,
        )
    print(f"baseline GET /_sim/health median: {baseline * 1000:.2f} ms")
    print(f"first 200-item page of 50k (sort build): {first_page / baseline:.1f}x baseline")
    print(f"later 200-item list page:               {list_page / baseline:.1f}x baseline")
    print(f"Inventory item detail:                  {detail / baseline:.1f}x baseline")
    print(f"full 50k paging estimate: {250 * list_page:.1f} s at per_page=200")
