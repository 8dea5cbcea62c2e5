"""What the mirror already holds for a page of records, and what each record therefore needs.

A list summary is written only when it is newer than the stored row (or there is none, or the
row is soft-deleted, or it shows another content at the stored version: two edits in one second
share a version, and this read is what Zoho holds now); an unchanged record costs nothing but a
lookup. Invoices, bills, credit
notes and price lists lack their line items in a list, so a record that must be written, or whose
stored row still lacks its line items (``raw`` without the list), is worth one detail read, as
far as the run's detail budget goes. This module holds the decision; the mirror is read by
:mod:`tds_common.mirror.reads` and written through :mod:`tds_common.mirror`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from tds_common.catalogue import EntitySpec
from tds_common.mirror.reads import Stored

Need = Literal["write", "complete", "skip"]
"""write: newer than stored (or new, deleted, or another content at its version); complete:
current but stored without line items; skip: the stored row is current."""


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
