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

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tds_common import pg_json

if TYPE_CHECKING:
    from tds_common.mirror.writer import DbConnection

NULL = "\\N"
COPY_CHUNK_BYTES = 1 << 20


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


def _unescaped(value: Any) -> str:
    """A value as text, before escapes (what field() escapes)."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return str(value)
    return pg_json.dumps(value)


def _line(values: list[Any]) -> str:
    texts = [value if type(value) is str else _unescaped(value) for value in values]
    line = "\t".join(texts)
    # Most rows carry nothing to escape: then the joined line has only its separators' tabs and
    # only the NULL markers' backslashes, and is already what field() would have written.
    if (
        line.count("\t") == len(texts) - 1
        and line.count("\\") == values.count(None)
        and "\n" not in line
        and "\r" not in line
    ):
        return line
    return "\t".join([field(value) for value in values])


def text_lines(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` in COPY's text format, fields in ``columns`` order, each line ended."""
    return "".join([_line([row[name] for name in columns]) + "\n" for row in rows])


def text_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    """:func:`text_lines`, encoded."""
    return text_lines(rows, columns).encode()


async def copy_text(conn: DbConnection, table: str, columns: Sequence[str], text: str) -> None:
    """Append rows already in the text format (:func:`text_lines`) to ``table``."""
    schema, _, name = table.rpartition(".")
    await conn.copy_to_table(
        name,
        schema_name=schema or None,
        columns=list(columns),
        source=_chunks(text.encode()),
        format="text",
    )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    # An iterator rather than a file object: asyncpg reads files in a worker thread, a hop per
    # chunk that costs more than the copy of a batch's rows (and contends for the GIL).
    for start in range(0, len(data), COPY_CHUNK_BYTES):
        yield data[start : start + COPY_CHUNK_BYTES]
