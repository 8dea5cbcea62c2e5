"""The keyset cursor over a Zoho list sorted by ``last_modified_time`` ascending (pure, no I/O).

Zoho lists have no total and only offset paging, which skips or repeats rows when the data moves
under it. Instead each call asks for page 1 of "modified at or after the cursor" and the cursor
moves to the newest ``last_modified_time`` on the page. Three details keep it exact:

- the query starts ``overlap`` seconds before the cursor, so records sharing the boundary second
  come back whether Zoho's filter is ``>=`` or ``>`` (UNCONFIRMED); records older than the
  cursor, and the ids already handled at exactly the cursor (``boundary``), are skipped;
- when a page does not move the cursor (more than a page of records share one second, or the
  overlap filled the page) the next call asks for the next *page* of the same query instead:
  the page fallback;
- a record edited during the run gets a newer ``last_modified_time`` and so comes again later,
  never lost.

The state is JSON in the run's checkpoint: a resumed run asks for exactly the page after the
last one committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tds_common.events import format_zoho_timestamp, parse_zoho_timestamp


def record_time(record: Mapping[str, Any]) -> datetime | None:
    """A record's ``last_modified_time``; None when absent or not a timestamp."""
    value = record.get("last_modified_time")
    if not isinstance(value, str):
        return None
    try:
        return parse_zoho_timestamp(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Cursor:
    since: datetime | None = None
    """Every record modified before this was handled (None: from the beginning)."""
    page: int = 1
    """Page of the query at ``since`` (above 1 only in the page fallback)."""
    boundary: frozenset[str] = field(default_factory=frozenset)
    """Ids modified exactly at ``since`` that were handled already."""
    high_water: datetime | None = None
    """The newest ``last_modified_time`` seen: the next incremental run starts here."""
    done: bool = False

    def params(self, per_page: int, overlap_seconds: int) -> dict[str, str]:
        """Query parameters of the next list call."""
        params = {
            "page": str(self.page),
            "per_page": str(per_page),
            "sort_column": "last_modified_time",
            "sort_order": "A",
        }
        if self.since is not None:
            start = self.since - timedelta(seconds=overlap_seconds)
            params["last_modified_time"] = format_zoho_timestamp(start)
        return params

    def is_new(self, zoho_id: str, modified: datetime | None) -> bool:
        """Whether a listed record still needs handling (not behind the cursor)."""
        if self.since is None or modified is None:
            return True
        if modified < self.since:
            return False
        return not (modified == self.since and zoho_id in self.boundary)

    def advance(self, records: Sequence[tuple[str, datetime | None]], has_more: bool) -> Cursor:
        """The cursor after a page of ``(id, last_modified_time)`` has been handled."""
        times = [t for _, t in records if t is not None]
        newest = max(times) if times else None
        high_water = self.high_water
        if newest is not None and (high_water is None or newest > high_water):
            high_water = newest
        if not has_more or not records:
            return Cursor(self.since, self.page, self.boundary, high_water, done=True)
        at = {zoho_id for zoho_id, t in records if t is not None and t == newest}
        if newest is not None and (self.since is None or newest > self.since):
            return Cursor(newest, 1, frozenset(at), high_water)
        # The page did not move the cursor: fall back to the next page of the same query.
        boundary = self.boundary | {zoho_id for zoho_id, t in records if t == self.since}
        return Cursor(self.since, self.page + 1, frozenset(boundary), high_water)

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "page": self.page,
            "boundary": sorted(self.boundary),
            "high_water": self.high_water.isoformat() if self.high_water else None,
            "done": self.done,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, since: datetime | None = None) -> Cursor:
        """Resume from a checkpoint, or start at ``since`` when there is none."""
        if not data:
            return cls(since=since)
        return cls(
            since=_time(data.get("since")),
            page=int(data.get("page") or 1),
            boundary=frozenset(str(i) for i in data.get("boundary") or ()),
            high_water=_time(data.get("high_water")),
            done=bool(data.get("done")),
        )


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None
