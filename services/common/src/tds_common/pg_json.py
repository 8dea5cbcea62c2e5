"""JSON text for PostgreSQL parameters: the rows a batch writes travel as one JSON document.

Encoding those documents was the write path's largest cost after the payloads' digests (a
2 KB invoice is encoded three times: inbox, parent row, line items), so it is done by orjson,
several times faster than :mod:`json`. What orjson refuses, :mod:`json` still encodes as
before, so nothing that was storable becomes an error: integers beyond 64 bits (which
:mod:`tds_common.json_limits` lets through), lone surrogates (which PostgreSQL then refuses, as
it did), keys that are not strings, nesting beyond orjson's 254 levels.

One difference, on purpose: a non-finite float becomes ``null`` where :mod:`json` wrote
``NaN`` (which ``jsonb`` refuses). Events never carry one (:func:`tds_common.json_limits.check_json`
refuses them at ingest and in every envelope).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """Compact JSON text of ``value``, non-ASCII characters as they are. ``default`` turns what
    JSON has no type for into something it has (without it, such a value is a TypeError)."""
    try:
        return orjson.dumps(value, default=default).decode()
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        # A value neither encoder takes raises TypeError here, as json.dumps always did.
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=default)
