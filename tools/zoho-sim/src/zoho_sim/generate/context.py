"""What every generator shares: the org context, ids, seeded times and a stable hash.

Ids are 18-digit strings ``46<org position><entity code><index>``, unique per org and entity.
Seeded records were created in the year before :data:`ANCHOR_EPOCH` and modified before it.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

from zoho_sim.entities import ENTITY_CODES
from zoho_sim.timefmt import format_date, format_ts

Record = dict[str, Any]

ANCHOR_EPOCH: Final = datetime(2026, 6, 1, tzinfo=UTC).timestamp()
"""Seeded records were created in the year before this instant and modified before it."""
SPAN_SECONDS: Final = 365 * 86400
DAY: Final = 86400

# Codes 11-20 are the modules' own (zoho_sim.entities); line item ids use the module's + 50.
TAX_ID_CODE: Final = 21
ACCOUNT_CODE: Final = 22


def mix(*parts: int) -> int:
    """A deterministic 64-bit hash of small integers (splitmix64 steps; no hash randomisation)."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = (h + (part & 0xFFFFFFFFFFFFFFFF) + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h


@dataclass(frozen=True)
class OrgContext:
    """What generation needs to know about an org and the sizes of the other entities."""

    org_id: str
    org_position: int
    seed: int
    tz: tzinfo
    """The org's time zone (offsets follow daylight saving time) or a fixed offset."""
    currency_code: str
    scale: tuple[tuple[str, int], ...]
    inventory_only_items: int = 0
    """The last N seeded items exist only in Inventory (composite items)."""

    def inventory_only(self, index: int) -> bool:
        """Whether the seeded item at ``index`` is an Inventory-only (composite) item."""
        count = self.count("items")
        return count - self.inventory_only_items <= index < count

    @functools.cached_property
    def _counts(self) -> dict[str, int]:
        return dict(self.scale)

    def count(self, entity: str) -> int:
        return self._counts.get(entity, 0)

    @functools.cached_property
    def _id_prefix(self) -> str:
        return f"46{self.org_position:02d}"

    def make_id(self, entity_code: int, index: int) -> str:
        """Long numeric string ids (``"460113000000000042"``), unique per org and entity."""
        return f"{self._id_prefix}{entity_code:02d}{index + 1:012d}"

    def entity_id(self, entity: str, index: int) -> str:
        return self.make_id(ENTITY_CODES[entity], index)

    @property
    def currency_id(self) -> str:
        return self.make_id(31, 0)

    def ts(self, epoch: float) -> str:
        return format_ts(epoch, self.tz)

    def date(self, epoch: float) -> str:
        return format_date(epoch, self.tz)

    def times(self, entity: str, index: int) -> tuple[float, float]:
        """(created, last modified) epoch seconds, both before :data:`ANCHOR_EPOCH`."""
        h = mix(self.seed, ENTITY_CODES[entity], index)
        created = ANCHOR_EPOCH - SPAN_SECONDS + (h % (SPAN_SECONDS - DAY))
        modified = created + (h >> 20) % int(ANCHOR_EPOCH - created)
        return created, modified


def record_rng(ctx: OrgContext, entity: str, index: int) -> random.Random:
    """The random source of one seeded record: the same for the same context and index."""
    return random.Random(mix(ctx.seed, ENTITY_CODES[entity], index, 7))
