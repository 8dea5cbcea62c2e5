"""When a sweep must ask Zoho before deleting: any unproven listing of the entity in the run."""

from __future__ import annotations

from bulk_sync.sweep import listings_proven

PROVEN = {"cursor": {"proven": True}}
UNPROVEN = {"cursor": {"proven": False, "paging": "linear"}}


def test_a_keyset_listing_is_proven_and_an_old_checkpoint_counts_as_proven() -> None:
    assert listings_proven("customers", PROVEN, {"customers": PROVEN})
    assert listings_proven("customers", {"cursor": {"since": None}}, {})


def test_an_unproven_listing_of_the_entity_itself_needs_zoho_s_word() -> None:
    assert not listings_proven("customers", UNPROVEN, {"customers": UNPROVEN})


def test_an_unproven_second_list_of_the_same_entity_counts_too() -> None:
    """Products are listed from Books and then from Inventory (``products:inventory``)."""
    checkpoint = {"products": PROVEN, "products:inventory": UNPROVEN, "stock": UNPROVEN}
    assert not listings_proven("products", PROVEN, checkpoint)
    assert listings_proven("stock", PROVEN, {"products:inventory": UNPROVEN})
