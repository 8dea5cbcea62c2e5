"""How a run walks a Zoho list sorted by ``last_modified_time`` (pure, no I/O).

Zoho lists have no total and only offset paging, which skips rows when the data moves under
it: an edit moves a record to the end of an ascending list and a deletion removes it, so every
record behind it slides one place forward, and the one that slides onto a page already read is
never listed. A full run's sweep would then delete it. The walk therefore avoids offsets, and
where it cannot, it either proves the listing complete or says it is not (``proven``), and the
sweep then asks Zoho about every row it would delete (:mod:`bulk_sync.sweep`).

**Keyset** (the normal case). Each call asks for page 1 of "modified at or after the cursor";
the cursor moves to the newest ``last_modified_time`` on the page. Records edited during the run
get a newer time and come again later, never lost. The query starts ``overlap`` seconds early,
so records sharing the boundary second come back whether Zoho's filter is ``>=`` or ``>``
(UNCONFIRMED); records older than the cursor, and the ids already handled at exactly the cursor
(``boundary``), are skipped.

**A crowded second** (more records share one second than fit on a page) cannot move the cursor,
so the walk pages through that second by offset. Zoho sorts by one column only (no tie-breaker
to key on), so instead the second is walked again from page 1 until two passes in a row list
the same ids there. Records only ever *leave* a past second (an edit gives them a newer time, a
deletion removes them; nothing can be stamped in the past), so a record hidden by a shift in one
pass is found by the next, and the pass that hid it listed an id the next pass cannot list: two
equal passes saw every record of the second. A second that keeps changing for ``MAX_PASSES``
passes is left unproven.

**Linear** (Zoho ignores the ``last_modified_time`` filter, UNCONFIRMED for Books items and
contacts). Detected when a filtered page holds a record older than the filter; then paging
page 1, 2, 3 … of the unfiltered list instead of going back to page 1 at every cursor move (the
quadratic walk). A full run pages ascending (edited records come again at the end), an
incremental run descending from the newest until it passes ``start``. Offsets are exposed to
shifts, so a linear listing is never ``proven``.

The state is JSON in the run's checkpoint: a resumed run asks for exactly the page after the
last one committed. Every comparison is between instants (aware datetimes), never strings: Zoho
writes timestamps in the organization's offset, which changes with daylight saving time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from tds_common.events import format_zoho_timestamp, parse_zoho_timestamp

Paging = Literal["keyset", "linear"]
MAX_PASSES: Final = 6
"""Passes over one crowded second before giving up proving it (it kept changing)."""


Listed = tuple[str, datetime | None]
"""A listed record's id and ``last_modified_time``."""


@dataclass(frozen=True)
class Crowd:
    """The passes over one crowded second (all records there share ``Cursor.since``)."""

    passes: int = 1
    """The pass in progress (1: the first walk through the second)."""
    current: frozenset[str] = frozenset()
    """Ids at the second listed by this pass."""
    previous: frozenset[str] | None = None
    """Ids at the second listed by the previous pass (None during the first)."""
    then: tuple[datetime, frozenset[str]] | None = None
    """Where the keyset continues once the second is proven: the newest time on the page that
    ended a pass with records beyond the second, and the ids there (None: none yet)."""


@dataclass(frozen=True)
class Cursor:
    since: datetime | None = None
    """Keyset: every record modified before this was handled (None: from the beginning)."""
    page: int = 1
    """Page of the current query (keyset: above 1 only in a crowded second)."""
    boundary: frozenset[str] = field(default_factory=frozenset)
    """Ids modified exactly at ``since`` that were handled already."""
    high_water: datetime | None = None
    """The newest ``last_modified_time`` handled: the next incremental run starts here."""
    done: bool = False
    paging: Paging = "keyset"
    start: datetime | None = None
    """The run's own starting point (incremental ``since``; None for full runs)."""
    crowd: Crowd | None = None
    proven: bool = True
    """False once the listing relied on offsets it could not prove (linear paging, or a
    crowded second that kept changing): the sweep must confirm each deletion with Zoho."""

    @classmethod
    def begin(cls, since: datetime | None) -> Cursor:
        return cls(since=since, start=since)

    @property
    def descending(self) -> bool:
        """Linear incremental runs read newest first and stop once past ``start``."""
        return self.paging == "linear" and self.start is not None

    def params(self, per_page: int, overlap_seconds: int) -> dict[str, str]:
        """Query parameters of the next list call (``filter_by`` is the caller's)."""
        params = {
            "page": str(self.page),
            "per_page": str(per_page),
            "sort_column": "last_modified_time",
            "sort_order": "D" if self.descending else "A",
        }
        if self.paging == "keyset" and self.since is not None:
            # In the cursor's own offset: the organization's, as Zoho wrote it.
            start = self.since - timedelta(seconds=overlap_seconds)
            params["last_modified_time"] = format_zoho_timestamp(start)
        return params

    def step(
        self, records: Sequence[Listed], has_more: bool, overlap_seconds: int
    ) -> tuple[list[str], Cursor]:
        """The ids of a page to handle now, and the cursor after handling them."""
        if self.paging == "keyset" and self._filter_ignored(records, overlap_seconds):
            return [], self._go_linear()
        handled = [(zoho_id, t) for zoho_id, t in records if self._is_new(zoho_id, t)]
        fresh = [zoho_id for zoho_id, _ in handled]
        newest = max((t for _, t in handled if t is not None), default=None)
        high_water = self.high_water
        if newest is not None and (high_water is None or newest > high_water):
            high_water = newest
        moved = replace(self, high_water=high_water)
        if self.paging == "linear":
            return fresh, moved._linear_next(records, has_more)
        if self.crowd is not None:
            return fresh, moved._crowd_next(records, has_more)
        return fresh, moved._keyset_next(records, has_more)

    # Keyset -----------------------------------------------------------------------------

    def _filter_ignored(self, records: Sequence[Listed], overlap_seconds: int) -> bool:
        """A filtered page with a record older than the filter: Zoho ignored it."""
        if self.since is None:
            return False
        floor = self.since - timedelta(seconds=overlap_seconds)
        return any(t is not None and t < floor for _, t in records)

    def _go_linear(self) -> Cursor:
        # A full run handled the first page of the unfiltered list (its first call had no
        # filter), so it continues at page 2; an incremental run has handled nothing yet.
        page = 1 if self.start is not None else 2
        return Cursor(
            since=self.start,
            page=page,
            high_water=self.high_water,
            paging="linear",
            start=self.start,
            proven=False,
        )

    def _is_new(self, zoho_id: str, modified: datetime | None) -> bool:
        """Whether a listed record still needs handling (not behind the cursor)."""
        if self.since is None or modified is None:
            return True
        if modified < self.since:
            return False
        if modified == self.since:
            return zoho_id not in self.boundary
        if self.paging == "linear":
            return True
        # In a crowded second, records beyond it are handled until the keyset's next position
        # is known; after that the keyset lists them.
        return self.crowd is None or self.crowd.then is None

    def _keyset_next(self, records: Sequence[Listed], has_more: bool) -> Cursor:
        if not has_more or not records:
            return replace(self, done=True)
        newest = max((t for _, t in records if t is not None), default=None)
        if newest is not None and (self.since is None or newest > self.since):
            at = frozenset(i for i, t in records if t == newest)
            return replace(self, since=newest, page=1, boundary=at)
        if self.since is None:  # no record on the page has a time: nothing to key on
            return replace(self, paging="linear", page=self.page + 1, proven=False)
        # The page did not move the cursor: a crowded second; walk it by pages (first pass).
        at = frozenset(i for i, t in records if t is not None and t == self.since)
        crowd = Crowd(current=at)
        return replace(self, page=self.page + 1, boundary=self.boundary | at, crowd=crowd)

    def _crowd_next(self, records: Sequence[Listed], has_more: bool) -> Cursor:
        crowd = self.crowd
        assert crowd is not None
        at = frozenset(i for i, t in records if t is not None and t == self.since)
        crowd = replace(crowd, current=crowd.current | at)
        boundary = self.boundary | at
        beyond = [
            (i, t)
            for i, t in records
            if t is not None and self.since is not None and t > self.since
        ]
        if has_more and records and not beyond:
            return replace(self, page=self.page + 1, boundary=boundary, crowd=crowd)
        if beyond and crowd.then is None:
            newest = max(t for _, t in beyond)
            crowd = replace(crowd, then=(newest, frozenset(i for i, t in beyond if t == newest)))
        # The pass is over. Proven when it listed exactly what the previous pass listed.
        stable = crowd.previous is not None and crowd.current == crowd.previous
        if not stable and crowd.passes < MAX_PASSES:
            again = Crowd(passes=crowd.passes + 1, previous=crowd.current, then=crowd.then)
            return replace(self, page=1, boundary=boundary, crowd=again)
        proven = self.proven and stable
        if crowd.then is None:
            return replace(self, boundary=boundary, crowd=None, done=True, proven=proven)
        since, at_then = crowd.then
        return replace(self, since=since, page=1, boundary=at_then, crowd=None, proven=proven)

    # Linear -----------------------------------------------------------------------------

    def _linear_next(self, records: Sequence[Listed], has_more: bool) -> Cursor:
        past_start = self.descending and any(
            t is not None and self.start is not None and t < self.start for _, t in records
        )
        if not has_more or not records or past_start:
            return replace(self, done=True)
        return replace(self, page=self.page + 1)

    # Checkpoint -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "since": _iso(self.since),
            "page": self.page,
            "boundary": sorted(self.boundary),
            "high_water": _iso(self.high_water),
            "done": self.done,
            "paging": self.paging,
            "start": _iso(self.start),
            "proven": self.proven,
        }
        if self.crowd is not None:
            c = self.crowd
            data["crowd"] = {
                "passes": c.passes,
                "current": sorted(c.current),
                "previous": None if c.previous is None else sorted(c.previous),
                "then": None if c.then is None else [_iso(c.then[0]), sorted(c.then[1])],
            }
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, since: datetime | None = None) -> Cursor:
        """Resume from a checkpoint (also one written before paging modes existed), or start
        at ``since`` when there is none."""
        if not data:
            return cls.begin(since)
        paging = data.get("paging")
        return cls(
            since=_time(data.get("since")),
            page=int(data.get("page") or 1),
            boundary=_ids(data.get("boundary")),
            high_water=_time(data.get("high_water")),
            done=bool(data.get("done")),
            paging="linear" if paging == "linear" else "keyset",
            start=_time(data.get("start")) if "start" in data else since,
            crowd=_crowd(data.get("crowd")),
            proven=bool(data.get("proven", True)),
        )


def _crowd(data: Any) -> Crowd | None:
    if not isinstance(data, Mapping):
        return None
    previous = data.get("previous")
    then: tuple[datetime, frozenset[str]] | None = None
    raw = data.get("then")
    if isinstance(raw, list) and len(raw) == 2 and (at := _time(raw[0])) is not None:
        then = (at, _ids(raw[1]))
    return Crowd(
        passes=int(data.get("passes") or 1),
        current=_ids(data.get("current")),
        previous=None if previous is None else _ids(previous),
        then=then,
    )


def _ids(value: Any) -> frozenset[str]:
    return frozenset(str(i) for i in value or ())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: Any) -> datetime | None:
    return parse_zoho_timestamp(value) if isinstance(value, str) else None
