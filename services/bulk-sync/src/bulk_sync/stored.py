"""What the mirror already holds for a page of records, and what each record therefore needs.

A list summary is written only when it is newer than the stored row (or there is none, or the
row is soft-deleted, or it shows another content at the stored version: two edits in one second
share a version, and this read is what Zoho holds now); an unchanged record costs nothing but a
lookup. Invoices, bills, credit
notes and price lists lack their line items in a list, so a record that must be written, or whose
stored row still lacks its line items (``raw`` without the list), is worth one detail read, as
far as the run's detail budget goes. This module only reads the mirror; writes go through
:mod:`tds_common.mirror`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tds_common.catalogue import EntitySpec
from tds_common.mirror import DbConnection
from tds_common.mirror.sql import same_content

Need = Literal["write", "complete", "skip"]
"""write: newer than stored (or new, deleted, or another content at its version); complete:
current but stored without line items; skip: the stored row is current."""


@dataclass(frozen=True)
class Stored:
    modified: datetime | None
    deleted: bool
    complete: bool
    same: bool = True
    """The listed summary agrees with the stored content on every key both carry."""


def need(spec: EntitySpec, modified: datetime | None, stored: Stored | None) -> Need:
    """What a listed record needs, given the stored row (pure)."""
    if stored is None or stored.deleted:
        return "write"
    if not spec.versioned or modified is None or stored.modified is None:
        return "write"
    if modified > stored.modified:
        return "write"
    if modified == stored.modified and not stored.same:
        return "write"
    if spec.child is not None and not stored.complete:
        return "complete"
    return "skip"


async def stored_rows(
    conn: DbConnection, spec: EntitySpec, org_id: str, listed: Mapping[str, Mapping[str, Any]]
) -> dict[str, Stored]:
    """The stored version of each listed id that has a row (parent tables only), and whether
    its content agrees with the listed summary (``tds_common.mirror.sql.same_content``)."""
    if not listed:
        return {}
    complete = f"(t.raw ? '{spec.child.list_field}')" if spec.child is not None else "true"
    summaries = json.dumps([{"id": i, "raw": r} for i, r in listed.items()], default=str)
    records = await conn.fetch(
        f"SELECT t.{spec.id_field} AS id, t.zoho_last_modified_time AS modified, "
        f"t.deleted_at IS NOT NULL AS deleted, {complete} AS complete, "
        f"{same_content('l', 't')} AS same FROM {spec.table} t "
        f"JOIN jsonb_to_recordset($2::text::jsonb) AS l(id text, raw jsonb) "
        f"ON t.{spec.id_field} = l.id WHERE t.org_id = $1",
        org_id,
        summaries,
    )
    return {r["id"]: Stored(r["modified"], r["deleted"], r["complete"], r["same"]) for r in records}
