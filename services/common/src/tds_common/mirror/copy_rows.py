"""Rows into a table by ``COPY ... FROM STDIN`` (text format): the cheapest way in.

Child rows (line items and the like) are never merged, only replaced: their parent's winning
upsert clears them and the new list goes in whole. So they need no ``ON CONFLICT`` and can be
copied rather than sent as one JSON document for ``jsonb_to_recordset``, which PostgreSQL must
parse and then unpack field by field (the profiled write path's most expensive statement).

Values are the mapping's JSON-ready ones (text, numbers, booleans, None, and the ``raw`` object),
written as PostgreSQL's text format reads them; each column's own input function parses them,
exactly as it parses the text ``jsonb_to_recordset`` hands it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tds_common import pg_json

if TYPE_CHECKING:
    from tds_common.mirror.writer import DbConnection

NULL = "\\N"


def _escaped(text: str) -> str:
    # The text format's escapes: backslash first, then the characters that end fields and rows.
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def field(value: Any) -> str:
    """One value as a text-format field."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return _escaped(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return str(value)
    return _escaped(pg_json.dumps(value))  # raw: the record (or child entry) as JSON


def text_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    """``rows`` in COPY's text format, fields in ``columns`` order."""
    lines = ["\t".join([field(row[name]) for name in columns]) for row in rows]
    lines.append("")
    return "\n".join(lines).encode()


async def copy_rows(
    conn: DbConnection, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Append ``rows`` to ``table`` (``schema.name``) inside the caller's transaction."""
    schema, _, name = table.rpartition(".")
    source = io.BytesIO(text_rows(rows, columns))
    await conn.copy_to_table(
        name, schema_name=schema or None, columns=list(columns), source=source, format="text"
    )
