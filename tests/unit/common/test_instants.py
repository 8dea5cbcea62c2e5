"""Zoho writes timestamps in the organization's offset, which changes with daylight saving
time: the same instant can arrive as -0400, -0500 or UTC text. Everything that compares or keys
on a record's version must use the instant, never the text."""

from __future__ import annotations

from datetime import UTC

from tds_common.events import EventEnvelope, parse_zoho_timestamp


def _event(stamp: str) -> EventEnvelope:
    version = parse_zoho_timestamp(stamp)
    return EventEnvelope(
        org_id="60000000001",
        entity="products",
        zoho_id="4600000000012345",
        source="webhook",
        last_modified_time=version,
    )


def test_one_instant_written_in_two_offsets_has_one_dedup_key() -> None:
    """01:30 EST on the night New York leaves DST is 06:30 UTC; a delivery of the same version
    stamped in UTC (or in another offset) is the same event."""
    local = _event("2026-11-01T01:30:00-0500")
    utc = _event("2026-11-01T06:30:00+0000")
    assert local.last_modified_time == utc.last_modified_time
    assert local.dedup_key == utc.dedup_key
    assert local.dedup_key.endswith(":2026-11-01T06:30:00+00:00:upsert")


def test_the_same_wall_clock_text_on_both_sides_of_the_change_is_two_versions() -> None:
    """01:30 happens twice that night: -0400 first, -0500 an hour later."""
    first, second = _event("2026-11-01T01:30:00-0400"), _event("2026-11-01T01:30:00-0500")
    assert first.dedup_key != second.dedup_key
    assert first.last_modified_time is not None and second.last_modified_time is not None
    assert second.last_modified_time > first.last_modified_time
    assert (second.last_modified_time - first.last_modified_time).total_seconds() == 3600


def test_parsed_stamps_compare_as_instants_across_offsets() -> None:
    later = parse_zoho_timestamp("2026-11-01T01:10:00-0500")  # 06:10 UTC
    earlier = parse_zoho_timestamp("2026-11-01T01:55:00-0400")  # 05:55 UTC
    assert later is not None and earlier is not None
    assert later > earlier and str(later) < str(earlier)  # the text would say the opposite
    assert later.astimezone(UTC).hour == 6
