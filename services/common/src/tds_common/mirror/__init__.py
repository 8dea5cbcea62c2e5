"""The mirror's one write path: entity specs, Zoho JSON → rows, set-based monotonic upserts.

Processor and bulk-sync both use it::

    mapped = [map_change(Change(...)) for ...]      # MappingError → poison, before any SQL
    async with conn.transaction():
        applied = await write_changes(conn, mapped) # indices of the changes that won
"""

from tds_common.mirror.mapping import Change, ChangeKey, MappedChange, is_thin, map_change
from tds_common.mirror.specs import SPECS, MirrorSpec, get_spec
from tds_common.mirror.values import MappingError
from tds_common.mirror.writer import DbConnection, reduce_batch, supersedes, write_changes

__all__ = [
    "SPECS",
    "Change",
    "ChangeKey",
    "DbConnection",
    "MappedChange",
    "MappingError",
    "MirrorSpec",
    "get_spec",
    "is_thin",
    "map_change",
    "reduce_batch",
    "supersedes",
    "write_changes",
]
