"""Recognising Zoho's echo of TDS's own write (bulk-sync's write-back, ``tds_outbox``).

Zoho fires its workflow webhook for every change, TDS's own writes included. The write-back
relay mirrors Zoho's answer at once and keeps it in the outbox row's ``result``; the webhook
that follows carries that very version. Such a pushed change is an echo: the processor skips it
(the mirror already holds that version, from a read of Zoho's answer) instead of rewriting the
row as webhook content, and counts it. A later edit in Zoho moves ``last_modified_time`` on and
is never taken for an echo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from prometheus_client import Counter

from tds_common.mirror import Change, DbConnection

ECHOES: Final = Counter(
    "tds_writeback_echoes_total",
    "Webhooks recognised as Zoho's echo of TDS's own write (skipped: they change nothing)",
    ["entity"],
)

_ECHOES_SQL: Final = """
SELECT DISTINCT c.i FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[])
    AS c(org_id, entity, zoho_id, stamp, i)
JOIN tds_outbox o ON o.org_id = c.org_id AND o.entity = c.entity AND o.zoho_id = c.zoho_id
WHERE o.status = 'applied' AND o.result ->> 'last_modified_time' = c.stamp
"""


async def echoes(conn: DbConnection, changes: Sequence[Change]) -> set[int]:
    """Indices of the pushed upserts that are echoes of an applied TDS write; counted."""
    candidates = [
        (i, c)
        for i, c in enumerate(changes)
        if c.op == "upsert"
        and not c.read
        and isinstance(c.record.get("last_modified_time"), str)
        and c.record.get("last_modified_time")
    ]
    if not candidates:
        return set()
    rows = await conn.fetch(
        _ECHOES_SQL,
        [c.org_id for _, c in candidates],
        [c.entity for _, c in candidates],
        [c.zoho_id for _, c in candidates],
        [str(c.record["last_modified_time"]) for _, c in candidates],
        [i for i, _ in candidates],
    )
    found = {int(r["i"]) for r in rows}
    for index in found:
        ECHOES.labels(changes[index].entity).inc()
    return found
