"""Zoho's timestamp format: ISO-8601 in the org's offset, no colon (``2026-06-09T09:45:21-0400``).

The offset is the org's time zone's at that instant, so it changes with daylight saving time
(``-0400`` in a New York June, ``-0500`` in December) and the strings of one org do NOT sort
chronologically across a change: sorting and filters compare instants (epoch seconds).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final

_OFFSET_RE: Final = re.compile(r"^([+-])(\d{2})(\d{2})$")
_FILTER_RE: Final = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_offset(offset: str) -> timezone:
    """``-0400`` → a fixed :class:`timezone`."""
    match = _OFFSET_RE.match(offset)
    if not match:
        raise ValueError(f"bad UTC offset {offset!r}, expected like -0400")
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def format_ts(epoch_seconds: float, tz: tzinfo) -> str:
    """Epoch seconds → ``2026-06-09T09:45:21-0400``."""
    return datetime.fromtimestamp(int(epoch_seconds), tz).strftime("%Y-%m-%dT%H:%M:%S%z")


def format_date(epoch_seconds: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(int(epoch_seconds), tz).strftime("%Y-%m-%d")


def parse_ts(value: str) -> datetime:
    """A filter value → aware datetime. Accepts ``-0400``, ``-04:00``, ``Z`` or no offset (UTC)."""
    match = _FILTER_RE.match(value.strip())
    if not match:
        raise ValueError(value)
    date, clock, offset = match.groups()
    if offset is None or offset == "Z":
        tz: timezone = UTC
    else:
        tz = parse_offset(offset.replace(":", ""))
    return datetime.fromisoformat(f"{date}T{clock}").replace(tzinfo=tz)


def to_epoch(value: str) -> float:
    """A stored Zoho timestamp → epoch seconds."""
    return parse_ts(value).timestamp()
