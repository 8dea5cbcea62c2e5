"""What JSON the pipeline carries: one set of limits for ingest, the envelope and the processor.

A record travels as JSON text twice (webhook body → Kafka envelope → processor) and ends in
PostgreSQL ``jsonb``. Some JSON parses in one place and not in the next, or parses into a
different value. :func:`parse_json` (ingest) and :func:`check_json` (every envelope's payload,
so the processor too) refuse those up front with a message that says why:

- nesting deeper than :data:`MAX_JSON_DEPTH` levels;
- a number outside a 64-bit float (``1e999`` parses as infinity, and JSON cannot carry it back:
  it would become ``null``) or an integer longer than Python converts (``sys.int_info``);
- a lone UTF-16 surrogate (``"\\ud800"``): not a character, UTF-8 cannot encode it;
- U+0000 in a string or key: PostgreSQL stores it in neither ``text`` nor ``jsonb``.

Messages never quote the input, so nothing a sender put in a body is echoed back.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

import pydantic_core

MAX_JSON_DEPTH: Final = 64
"""Deepest nesting of objects and arrays in a webhook document or an envelope's payload.

Zoho's records nest about five levels. pydantic's JSON parser, which decodes every envelope in
the processor, stops near 200 levels and its serializer at 255; with this limit an envelope
(one level more than its payload) always round-trips, with room to spare.
"""

_PARSED_TYPES: Final = frozenset({dict, list, str, int, float, bool, type(None)})
"""The types a JSON parser produces."""
_WALKED_TYPES: Final = (dict, list, str, float)
"""The base types whose values the walk looks into or checks (ints, bools, None: nothing)."""
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


class UnsafeJsonError(ValueError):
    """JSON that is well-formed text but cannot travel through the pipeline unchanged.

    ``storable`` is False for what only PostgreSQL refuses (U+0000): the document itself is
    fine JSON, the record is not usable (422 at ingest rather than 400).
    """

    def __init__(self, message: str, *, storable: bool = True) -> None:
        super().__init__(message)
        self.storable = storable


def _check_text(text: str) -> None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return
    if found.group() == "\x00":
        raise UnsafeJsonError(
            "a string contains U+0000, which PostgreSQL cannot store", storable=False
        )
    raise UnsafeJsonError("a string contains a lone UTF-16 surrogate, which is not a character")


def check_json(value: Any, *, max_depth: int = MAX_JSON_DEPTH, strings: bool = True) -> None:
    """Raise :class:`UnsafeJsonError` if ``value`` (parsed JSON) cannot travel unchanged.

    Walks level by level (no recursion, so a hostile depth costs none); each container counts
    one level. The strings and keys of a level are searched in one regex pass: this runs on
    every envelope the processor decodes. ``strings=False`` skips that search, for a caller
    that knows no string can hold U+0000 or a lone surrogate (:func:`parse_json`).

    Parsed JSON holds exactly ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and
    ``None``, so a value is told apart by its type (a third of the walk's cost against
    ``isinstance``); any other value (a subclass, from Python code) is walked as a copy of its
    base type, added to the level being walked.
    """
    level: list[Any] = [value]
    depth = 0
    while level:
        depth += 1
        below: list[Any] = []
        texts: list[str] = []
        for current in level:
            kind = type(current)
            if kind is str:
                if strings:
                    texts.append(current)
            elif kind is dict:
                if strings:
                    texts.extend(current)
                below.extend(current.values())
            elif kind is list:
                below.extend(current)
            elif kind is float:
                if not math.isfinite(current):
                    raise UnsafeJsonError("a number is out of range for a 64-bit float")
            elif kind not in _PARSED_TYPES:  # a subclass: its base type's copy joins this level
                base = next((t for t in _WALKED_TYPES if isinstance(current, t)), None)
                if base is not None:
                    level.append(base(current))
        if texts:
            _check_text("".join(texts))
        if below and depth >= max_depth and any(isinstance(v, dict | list) for v in below):
            raise UnsafeJsonError(f"JSON is nested deeper than {max_depth} levels")
        level = below


def parse_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The document in ``data``, parsed as the processor parses envelopes, then checked.

    ``ValueError`` for text that is not JSON (the parser's message: what and where, never the
    input), :class:`UnsafeJsonError` for JSON that :func:`check_json` refuses.
    """
    try:
        document = pydantic_core.from_json(data, allow_inf_nan=False)
    except ValueError as exc:
        message = str(exc)
        # The parser's own depth bound (about 200) and integer bound (4300 digits) are ours too.
        if message.startswith("recursion limit exceeded"):
            raise UnsafeJsonError(f"JSON is nested deeper than {max_depth} levels") from exc
        if message.startswith("number out of range"):
            raise UnsafeJsonError("a number is out of range (" + message + ")") from exc
        if "surrogate" in message or message.startswith("unexpected end of hex escape"):
            raise UnsafeJsonError(
                "a string contains a lone UTF-16 surrogate, which is not a character"
            ) from exc
        raise ValueError(f"not valid JSON: {message}") from exc
    # The parser refuses every lone surrogate and every raw control character (see above), so
    # a parsed string can hold U+0000 only from a "\u0000" escape in the text: without one
    # (nearly every body), the strings need no search; with one, all of them are searched.
    escaped_nul = b"\\u0000" in data if isinstance(data, bytes) else "\\u0000" in data
    check_json(document, max_depth=max_depth, strings=escaped_nul)
    return document
