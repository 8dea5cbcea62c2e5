"""The mirror's one write path: Zoho JSON → rows, set-based monotonic upserts.

Processor and bulk-sync both use it::

    mapped = [map_change(Change(...)) for ...]      # MappingError → poison, before any SQL
    async with conn.transaction():
        outcome = await apply_changes(conn, mapped) # .applied: the changes that won;
                                                    # .conflicts: re-read these (same version,
                                                    # different content, nothing settled it)
"""

from tds_common.columns import MappingError
from tds_common.mirror.mapping import (
    Change,
    ChangeKey,
    MappedChange,
    is_thin,
    map_change,
    with_raw_in_inbox,
)
from tds_common.mirror.rules import Version, content_digest, same_content, verdict
from tds_common.mirror.writer import (
    DbConnection,
    WriteOutcome,
    apply_changes,
    reduce_batch,
    supersedes,
    write_changes,
)

__all__ = [
    "Change",
    "ChangeKey",
    "DbConnection",
    "MappedChange",
    "MappingError",
    "Version",
    "WriteOutcome",
    "apply_changes",
    "content_digest",
    "is_thin",
    "map_change",
    "reduce_batch",
    "same_content",
    "supersedes",
    "verdict",
    "with_raw_in_inbox",
    "write_changes",
]
