"""What the mirror already holds for a page of records, and what each record therefore needs.

A list summary is written only when it is newer than the stored row (or there is none, or the
row is soft-deleted); an unchanged record costs nothing but a lookup. Invoices, bills, credit
notes and price lists lack their line items in a list, so a record that must be written, or whose
stored row still lacks its line items (``raw`` without the list), is worth one detail read, as
far as the run's detail budget goes. This module only reads the mirror; writes go through
:mod:`tds_common.mirror`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tds_common.mirror import DbConnection, MirrorSpec

Need = Literal["write", "complete", "skip"]
"""write: newer than stored (or new); complete: current but stored without line items;
skip: the stored row is current."""


@dataclass(frozen=True)
class Stored:
    modified: datetime | None
    deleted: bool
    complete: bool


def need(spec: MirrorSpec, modified: datetime | None, stored: Stored | None) -> Need:
    """What a listed record needs, given the stored row (pure)."""
    if stored is None or stored.deleted:
        return "write"
    if not spec.versioned or modified is None or stored.modified is None:
        return "write"
    if modified > stored.modified:
        return "write"
    if spec.child is not None and not stored.complete:
        return "complete"
    return "skip"


async def stored_rows(
    conn: DbConnection, spec: MirrorSpec, org_id: str, zoho_ids: Sequence[str]
) -> dict[str, Stored]:
    """The stored version of each id that has a row (parent tables only)."""
    if not zoho_ids:
        return {}
    complete = f"(raw ? '{spec.child.list_field}')" if spec.child is not None else "true"
    records = await conn.fetch(
        f"SELECT {spec.id_column} AS id, zoho_last_modified_time AS modified, "
        f"deleted_at IS NOT NULL AS deleted, {complete} AS complete FROM {spec.table} "
        f"WHERE org_id = $1 AND {spec.id_column} = ANY($2::text[])",
        org_id, list(zoho_ids),
    )  # fmt: skip
    return {r["id"]: Stored(r["modified"], r["deleted"], r["complete"]) for r in records}
