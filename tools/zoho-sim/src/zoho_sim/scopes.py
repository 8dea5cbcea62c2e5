"""OAuth scopes per call (docs/zoho-api.md#scopes): ``ZohoBooks.<module>.<OP>`` and
``ZohoInventory.<module>.<OP>``; a token without a fitting scope gets code 57, like a dead one.

Reads need ``READ`` or ``ALL`` on the module, or the product's full-access scope (widely used
though undocumented for Books). Items, price lists, warehouses and the org list fall under Books'
``settings`` module; Inventory names items and price lists as modules of their own.
"""

from __future__ import annotations

from typing import Final

from zoho_sim.entities import SPECS

BOOKS_MODULES: Final = {
    **{spec.path: spec.books_scope for spec in SPECS.values()},
    "itemdetails": "settings",
    "locations": "settings",
    "organizations": "settings",
}
INVENTORY_MODULES: Final = {
    **BOOKS_MODULES,
    "items": "items",
    "itemdetails": "items",
    "pricebooks": "pricebooks",
}
_PRODUCT_PREFIX: Final = {"books": "zohobooks", "inventory": "zohoinventory"}


def parse(scope: str) -> frozenset[str]:
    """A comma-separated scope string → lower-cased scope names."""
    return frozenset(part.strip().lower() for part in scope.split(",") if part.strip())


def allows(granted: frozenset[str], product: str, resource: str) -> bool:
    """Whether ``granted`` covers a read of ``resource`` (a list path) in ``product``."""
    prefix = _PRODUCT_PREFIX[product]
    modules = INVENTORY_MODULES if product == "inventory" else BOOKS_MODULES
    module = modules.get(resource, "settings")
    wanted = {f"{prefix}.fullaccess.all", f"{prefix}.{module}.read", f"{prefix}.{module}.all"}
    return bool(granted & wanted)
