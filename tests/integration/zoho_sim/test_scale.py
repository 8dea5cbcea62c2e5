"""A 50,000-item org pages completely at per_page=200 (the brief's scale requirement)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .helpers import INVENTORY, SimClient

ITEMS = 50_000


def test_fifty_thousand_items_page_completely(custom_sim: Callable[..., SimClient]) -> None:
    sim = custom_sim(scale={"items": ITEMS}, default_scale=10)
    sim.control("PUT", "/limits", json={"per_minute": 10_000, "daily_quota": 10_000})
    ids: list[str] = []
    stamps: list[str] = []
    page = 1
    while True:
        body = sim.ok(
            "/items",
            root=INVENTORY,
            page=page,
            per_page=200,
            sort_column="last_modified_time",
            sort_order="A",
        )
        assert body["page_context"]["page"] == page
        ids += [row["item_id"] for row in body["items"]]
        # Offsets follow New York's daylight saving time: the instants are in order.
        stamps += [row["last_modified_time"] for row in body["items"]]
        if not body["page_context"]["has_more_page"]:
            break
        assert len(body["items"]) == 200
        page += 1
    assert page == ITEMS // 200
    assert len(ids) == len(set(ids)) == ITEMS
    instants = [datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z") for stamp in stamps]
    assert instants == sorted(instants)
    assert {stamp[-5:] for stamp in stamps} == {"-0400", "-0500"}
    # The last item by id exists in detail, and an edit keeps the count and moves it last.
    last = max(ids)
    sim.control("PATCH", f"/orgs/60000000001/items/{last}", json={"name": "Renamed"})
    tail = sim.ok(
        "/items",
        root=INVENTORY,
        page=ITEMS // 200,
        per_page=200,
        sort_column="last_modified_time",
        sort_order="A",
    )
    assert tail["items"][-1]["item_id"] == last
    assert tail["items"][-1]["name"] == "Renamed"
    assert sim.counters()["budgets"]["60000000001"]["inventory"]["throttled"] == {}
