"""Items that exist only in Zoho Inventory (composite items): Books does not have them."""

from __future__ import annotations

from collections.abc import Callable

from .helpers import INVENTORY, ORG, SimClient


def test_composite_items_are_listed_and_read_in_inventory_only(
    custom_sim: Callable[..., SimClient],
) -> None:
    sim = custom_sim(default_scale=30, inventory_only_items=4)
    books = sim.all_ids("/items", "items", "item_id")
    inventory = sim.all_ids("/items", "items", "item_id", root=INVENTORY)

    only_inventory = set(inventory) - set(books)
    assert len(books) == 26 and len(inventory) == 30 and len(only_inventory) == 4
    for item_id in only_inventory:
        detail = sim.ok(f"/items/{item_id}", root=INVENTORY)["item"]
        assert detail["is_combo_product"] is True
        missing = sim.get(f"/items/{item_id}")
        assert missing.status_code == 404 and missing.json()["code"] == 1002
    asked = sorted(only_inventory) + books[:2]
    in_books = sim.ok("/itemdetails", item_ids=",".join(asked))["items"]
    assert [item["item_id"] for item in in_books] == books[:2]

    # A created composite item is Inventory-only as well; an ordinary one is in both.
    combo = sim.control("POST", f"/orgs/{ORG}/items", json={"is_combo_product": True})["record"]
    plain = sim.control("POST", f"/orgs/{ORG}/items", json={})["record"]
    books_after = set(sim.all_ids("/items", "items", "item_id"))
    assert plain["item_id"] in books_after and combo["item_id"] not in books_after
    assert {combo["item_id"], plain["item_id"]} <= set(
        sim.all_ids("/items", "items", "item_id", root=INVENTORY)
    )
