"""The keyset cursor: what it asks for, what it skips, how it moves and falls back to pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bulk_sync.cursor import Cursor, record_time

T0 = datetime(2026, 6, 9, 13, 45, 21, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_first_query_has_no_filter_and_sorts_ascending() -> None:
    params = Cursor().params(200, 1)
    assert params == {
        "page": "1", "per_page": "200", "sort_column": "last_modified_time", "sort_order": "A",
    }  # fmt: skip


def test_query_starts_overlap_seconds_before_the_cursor_in_zoho_format() -> None:
    params = Cursor(since=at(0)).params(50, 1)
    assert params["last_modified_time"] == "2026-06-09T13:45:20+0000"
    assert Cursor(since=at(0)).params(50, 0)["last_modified_time"] == "2026-06-09T13:45:21+0000"


def test_advance_moves_to_the_newest_time_and_remembers_the_ids_there() -> None:
    cursor = Cursor().advance([("a", at(0)), ("b", at(5)), ("c", at(5))], has_more=True)
    assert cursor.since == at(5) and cursor.page == 1
    assert cursor.boundary == {"b", "c"} and cursor.high_water == at(5) and not cursor.done


def test_records_behind_the_cursor_or_at_it_already_handled_are_skipped() -> None:
    cursor = Cursor(since=at(5), boundary=frozenset({"b"}))
    assert not cursor.is_new("x", at(4))  # the overlap second
    assert not cursor.is_new("b", at(5))
    assert cursor.is_new("c", at(5))  # same second, not handled yet
    assert cursor.is_new("d", at(6))
    assert cursor.is_new("e", None)  # no time: cannot be placed, handle it
    assert Cursor().is_new("a", at(0))


def test_a_page_that_does_not_move_the_cursor_falls_back_to_the_next_page() -> None:
    cursor = Cursor(since=at(5), boundary=frozenset({"a"}))
    same = cursor.advance([("a", at(5)), ("b", at(5)), ("c", at(4))], has_more=True)
    assert same.since == at(5) and same.page == 2 and same.boundary == {"a", "b"}
    moved = same.advance([("d", at(5)), ("e", at(9))], has_more=True)
    assert moved.since == at(9) and moved.page == 1 and moved.boundary == {"e"}


def test_the_last_page_ends_the_cursor_and_keeps_the_high_water_mark() -> None:
    done = Cursor(since=at(5), high_water=at(5)).advance([("z", at(7))], has_more=False)
    assert done.done and done.high_water == at(7)
    empty = Cursor(since=at(5), high_water=at(5)).advance([], has_more=True)
    assert empty.done and empty.high_water == at(5)


def test_checkpoint_round_trip() -> None:
    cursor = Cursor(since=at(5), page=3, boundary=frozenset({"b", "a"}), high_water=at(9))
    data = cursor.to_json()
    assert data["boundary"] == ["a", "b"]
    assert Cursor.from_json(data) == cursor
    assert Cursor.from_json(None, since=at(1)) == Cursor(since=at(1))
    assert Cursor.from_json({}, since=None) == Cursor()


def test_record_time_reads_zoho_timestamps_and_tolerates_junk() -> None:
    assert record_time({"last_modified_time": "2026-06-09T09:45:21-0400"}) == T0
    assert record_time({"last_modified_time": ""}) is None
    assert record_time({"last_modified_time": "yesterday"}) is None
    assert record_time({}) is None


def test_paging_a_list_with_a_crowded_second_reaches_every_record_once() -> None:
    """Simulate Zoho: 7 records, 5 in one second, per_page 2, inclusive filter, overlap 1 s."""
    data = sorted([(f"r{i}", at(0)) for i in range(5)] + [("x", at(3)), ("y", at(4))],
                  key=lambda r: (r[1], r[0]))  # fmt: skip
    cursor, handled, calls = Cursor(), [], 0
    while not cursor.done:
        calls += 1
        assert calls < 20
        params = cursor.params(2, 1)
        since = cursor.since - timedelta(seconds=1) if cursor.since else None
        rows = [r for r in data if since is None or r[1] >= since]
        page = int(params["page"])
        chunk = rows[(page - 1) * 2 : page * 2]
        handled += [i for i, t in chunk if cursor.is_new(i, t)]
        cursor = cursor.advance(chunk, has_more=len(rows) > page * 2)
    assert sorted(handled) == sorted(i for i, _ in data)
    assert cursor.high_water == at(4)
