"""A checkpoint's times are read by the one timestamp parser: an instant, always with a zone."""

from __future__ import annotations

from datetime import UTC, datetime

from bulk_sync.cursor import Cursor


def test_a_checkpoint_time_without_an_offset_is_read_as_utc() -> None:
    """Compared with aware instants later; a naive datetime there raises TypeError mid-run."""
    cursor = Cursor.from_json({"since": "2026-06-09T09:45:21", "high_water": "2026-06-09T10:00Z"})

    assert cursor.since == datetime(2026, 6, 9, 9, 45, 21, tzinfo=UTC)
    assert cursor.high_water == datetime(2026, 6, 9, 10, 0, tzinfo=UTC)


def test_a_checkpoint_time_in_zohos_offset_form_is_the_same_instant() -> None:
    cursor = Cursor.from_json({"since": "2026-06-09T05:45:21-0400"})

    assert cursor.since == datetime(2026, 6, 9, 9, 45, 21, tzinfo=UTC)
