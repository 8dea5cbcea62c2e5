"""The list walk: what it asks for, what it skips, how it moves, and that it reaches every
record against the simulator's own list logic (crowded seconds with edits, an ignored filter,
a daylight-saving change), in a linear number of calls."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bulk_sync.cursor import MAX_PASSES, Cursor
from tds_common.events import parse_zoho_timestamp, record_time
from zoho_sim.entities import SPECS
from zoho_sim.generate.context import ANCHOR_EPOCH
from zoho_sim.routes.views import list_body
from zoho_sim.settings import ApiSettings, OrgSettings, SimSettings
from zoho_sim.state import Org, SimState

T0 = datetime(2026, 6, 9, 13, 45, 21, tzinfo=UTC)
OVERLAP = 1


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


# The cursor alone ----------------------------------------------------------------------------


def test_first_query_has_no_filter_and_sorts_ascending() -> None:
    params = Cursor().params(200, 1)
    assert params == {
        "page": "1",
        "per_page": "200",
        "sort_column": "last_modified_time",
        "sort_order": "A",
    }


def test_query_starts_overlap_seconds_before_the_cursor_in_the_cursors_offset() -> None:
    since = parse_zoho_timestamp("2026-06-09T09:45:21-0400")
    assert since is not None
    assert Cursor(since=since).params(50, 1)["last_modified_time"] == "2026-06-09T09:45:20-0400"
    assert Cursor(since=at(0)).params(50, 0)["last_modified_time"] == "2026-06-09T13:45:21+0000"


def test_a_page_moves_the_cursor_to_its_newest_time_and_remembers_the_ids_there() -> None:
    fresh, cursor = Cursor().step([("a", at(0)), ("b", at(5)), ("c", at(5))], True, OVERLAP)
    assert fresh == ["a", "b", "c"]
    assert cursor.since == at(5) and cursor.page == 1 and cursor.boundary == {"b", "c"}
    assert cursor.high_water == at(5) and not cursor.done and cursor.proven


def test_records_behind_the_cursor_or_handled_at_it_are_skipped() -> None:
    cursor = Cursor(since=at(5), boundary=frozenset({"b"}))
    page = [("x", at(4)), ("b", at(5)), ("c", at(5)), ("d", at(6)), ("e", None)]
    fresh, after = cursor.step(page, True, OVERLAP)
    assert fresh == ["c", "d", "e"]  # e has no time: it cannot be placed, so it is handled
    assert after.since == at(6) and after.boundary == {"d"}


def test_the_last_page_ends_the_walk_and_keeps_the_high_water_mark() -> None:
    _, done = Cursor(since=at(5), high_water=at(5)).step([("z", at(7))], False, OVERLAP)
    assert done.done and done.high_water == at(7)
    _, empty = Cursor(since=at(5), high_water=at(5)).step([], True, OVERLAP)
    assert empty.done and empty.high_water == at(5)


def test_a_page_full_of_one_second_starts_walking_that_second_by_pages() -> None:
    cursor = Cursor(since=at(5), boundary=frozenset({"a"}))
    fresh, crowded = cursor.step([("a", at(5)), ("b", at(5)), ("c", at(4))], True, OVERLAP)
    assert fresh == ["b"] and crowded.page == 2 and crowded.crowd is not None
    assert crowded.boundary == {"a", "b"} and crowded.since == at(5)


def test_a_crowded_second_is_walked_again_until_two_passes_agree() -> None:
    cursor = Cursor(since=at(5), boundary=frozenset({"a"}))
    _, c = cursor.step([("a", at(5)), ("b", at(5))], True, OVERLAP)  # pass 1, page 1
    fresh, c = c.step([("c", at(5)), ("y", at(9))], True, OVERLAP)  # page 2 ends the pass
    assert fresh == ["c", "y"] and c.page == 1 and c.crowd is not None and c.crowd.passes == 2
    fresh, c = c.step([("a", at(5)), ("b", at(5))], True, OVERLAP)  # pass 2 lists the same
    assert fresh == []
    fresh, c = c.step([("c", at(5)), ("y", at(9))], True, OVERLAP)
    assert fresh == [] and c.crowd is None and c.proven  # proven: on to the keyset at y
    assert c.since == at(9) and c.boundary == {"y"} and c.page == 1


def test_a_pass_that_lists_a_new_id_in_the_second_handles_it_and_needs_another_pass() -> None:
    cursor = Cursor(since=at(5))
    _, c = cursor.step([("a", at(5)), ("b", at(5))], True, OVERLAP)
    _, c = c.step([("d", at(5)), ("y", at(9))], True, OVERLAP)  # c slid onto page 1: missed
    fresh, c = c.step([("a", at(5)), ("c", at(5))], True, OVERLAP)  # b was edited away
    assert fresh == ["c"]
    _, c = c.step([("d", at(5)), ("y", at(9))], True, OVERLAP)
    assert c.crowd is not None and c.crowd.passes == 3  # {a,c,d} != {a,b,d}: once more


def test_a_second_that_never_settles_is_left_unproven() -> None:
    c = Cursor(since=at(5))
    for n in range(MAX_PASSES):
        _, c = c.step([(f"p{n}", at(5)), ("k", at(5))], True, OVERLAP)
        assert c.crowd is not None
        _, c = c.step([(f"q{n}", at(5)), ("y", at(9))], True, OVERLAP)
    assert c.crowd is None and not c.proven and c.since == at(9)


def test_a_filtered_page_with_older_records_switches_to_linear_paging() -> None:
    full = Cursor.begin(None)
    _, full = full.step([("a", at(0)), ("b", at(5))], True, OVERLAP)
    fresh, linear = full.step([("a", at(0)), ("b", at(5))], True, OVERLAP)  # filter ignored
    assert fresh == [] and linear.paging == "linear" and linear.page == 2 and not linear.proven
    assert "last_modified_time" not in linear.params(2, OVERLAP)
    incremental = Cursor.begin(at(10))
    fresh, linear = incremental.step([("a", at(0))], True, OVERLAP)
    assert fresh == [] and linear.page == 1 and linear.params(2, OVERLAP)["sort_order"] == "D"


def test_a_first_page_without_times_is_walked_linearly_and_unproven() -> None:
    fresh, cursor = Cursor.begin(None).step([("a", None), ("b", None)], True, OVERLAP)
    assert fresh == ["a", "b"] and cursor.paging == "linear" and cursor.page == 2
    assert not cursor.proven


def test_checkpoint_round_trip_and_old_checkpoints() -> None:
    cursor = Cursor(
        since=at(5),
        page=3,
        boundary=frozenset({"b", "a"}),
        high_water=at(9),
        start=at(1),
        proven=False,
    )
    data = cursor.to_json()
    assert data["boundary"] == ["a", "b"]
    assert Cursor.from_json(data) == cursor
    _, crowded = Cursor(since=at(5)).step([("a", at(5))], True, OVERLAP)
    assert Cursor.from_json(crowded.to_json()) == crowded
    old = {
        "since": at(5).isoformat(),
        "page": 2,
        "boundary": ["a"],
        "high_water": None,
        "done": False,
    }
    assert Cursor.from_json(old, since=at(1)) == Cursor(
        since=at(5), page=2, boundary=frozenset({"a"}), start=at(1)
    )
    assert Cursor.from_json(None, since=at(1)) == Cursor.begin(at(1))


# The walk against the simulator's list logic ---------------------------------------------------

ORG = "60000000077"


@dataclass
class Walk:
    """Drives a cursor against the simulator's list of one entity, like a run does."""

    org: Org
    api: ApiSettings
    entity: str = "contacts"
    per_page: int = 10
    before_call: Callable[[int, Cursor], None] | None = None
    calls: int = 0
    handled: list[str] = field(default_factory=list)

    def run(self, cursor: Cursor) -> Cursor:
        spec = SPECS[self.entity]
        while not cursor.done:
            self.calls += 1
            assert self.calls < 2000, "the walk does not end"
            if self.before_call is not None:
                self.before_call(self.calls, cursor)
            params = {**cursor.params(self.per_page, OVERLAP), "filter_by": "Status.All"}
            body = list_body(self.org, spec, "books", params, self.api)
            page = [(str(r[spec.id_field]), record_time(r)) for r in body[spec.list_key]]
            fresh, cursor = cursor.step(page, body["page_context"]["has_more_page"], OVERLAP)
            self.handled += fresh
        return cursor


def sim(scale: int, *, ignored: bool = False, time_zone: str = "America/New_York") -> SimState:
    api = ApiSettings(last_modified_ignored_for=["contacts"] if ignored else [])
    org = OrgSettings(organization_id=ORG, time_zone=time_zone)
    return SimState(SimSettings(default_scale=scale, organizations=[org], api=api))


def stamp(state: SimState, zoho_id: str, epoch: float) -> None:
    """Zoho edits a record: a new last_modified_time in the org's time zone."""
    table = state.orgs[ORG].tables["contacts"]
    record = table.get(zoho_id)
    assert record is not None
    record["last_modified_time"] = state.orgs[ORG].ctx.ts(epoch)
    table.put(record)


def ids(state: SimState) -> list[str]:
    """Every contact id, oldest first."""
    table = state.orgs[ORG].tables["contacts"]
    return table.query(
        column="last_modified_time",
        descending=False,
        modified_since=None,
        inclusive=True,
        filter_by="Status.All",
    )


def test_a_crowded_second_edited_during_the_walk_still_lists_every_record() -> None:
    """The reproduced wrong deletion: 25 records in one second, 10 per page, and an edit moves
    a record of the second's first page away while the walk is on its second page."""
    state = sim(30)
    crowded_at = ANCHOR_EPOCH + 3600
    everyone = ids(state)
    for zoho_id in everyone[5:]:
        stamp(state, zoho_id, crowded_at)
    crowded = ids(state)[5:]  # the second's records, in the list's order
    edited: list[str] = []

    def edit_once(call: int, cursor: Cursor) -> None:
        if cursor.crowd is not None and cursor.page == 2 and not edited:
            edited.append(crowded[0])
            stamp(state, crowded[0], crowded_at + 60)

    walk = Walk(state.orgs[ORG], state.settings.api, before_call=edit_once)
    end = walk.run(Cursor.begin(None))
    assert edited and set(walk.handled) == set(everyone)
    assert walk.handled.count(crowded[0]) == 2  # at its old time and at its new one
    assert end.proven and end.high_water is not None
    assert end.high_water.timestamp() == crowded_at + 60


def test_a_crowded_second_with_a_deletion_during_the_walk_lists_every_survivor() -> None:
    state = sim(30)
    crowded_at = ANCHOR_EPOCH + 3600
    everyone = ids(state)
    for zoho_id in everyone[5:]:
        stamp(state, zoho_id, crowded_at)
    crowded = ids(state)[5:]
    deleted: list[str] = []

    def delete_once(call: int, cursor: Cursor) -> None:
        if cursor.crowd is not None and cursor.page == 3 and not deleted:
            deleted.append(crowded[3])
            state.orgs[ORG].tables["contacts"].delete(crowded[3])

    walk = Walk(state.orgs[ORG], state.settings.api, before_call=delete_once)
    end = walk.run(Cursor.begin(None))
    assert deleted and set(walk.handled) >= set(everyone) - set(deleted)
    assert end.proven


def test_list_calls_stay_within_one_percent_of_the_pages_in_the_normal_case() -> None:
    state = sim(20_000)
    walk = Walk(state.orgs[ORG], state.settings.api, per_page=200)
    end = walk.run(Cursor.begin(None))
    assert len(set(walk.handled)) == 20_000 and end.proven
    assert walk.calls <= math.ceil(20_000 / 200) * 1.01


def test_an_ignored_filter_pages_linearly_not_back_to_page_one() -> None:
    """Quadratic before: every cursor move went back to page 1 of the whole list."""
    state = sim(1000, ignored=True)
    walk = Walk(state.orgs[ORG], state.settings.api, per_page=50)
    end = walk.run(Cursor.begin(None))
    assert set(walk.handled) == set(ids(state))
    assert walk.calls == math.ceil(1000 / 50) + 1  # one call to notice the filter is ignored
    assert end.paging == "linear" and not end.proven  # offsets: the sweep must confirm
    assert end.high_water == max(t for t in map(_time_of(state), ids(state)) if t is not None)


def test_an_incremental_walk_with_an_ignored_filter_reads_newest_first_and_stops() -> None:
    state = sim(1000, ignored=True)
    everyone = ids(state)
    since_epoch = ANCHOR_EPOCH + 100
    changed = everyone[:70]
    for n, zoho_id in enumerate(changed):
        stamp(state, zoho_id, since_epoch + n)
    since = datetime.fromtimestamp(since_epoch, UTC)
    walk = Walk(state.orgs[ORG], state.settings.api, per_page=50)
    walk.run(Cursor.begin(since))
    assert set(walk.handled) == set(changed)
    assert walk.calls == 1 + math.ceil(71 / 50)  # notice, then two pages newest first


def _time_of(state: SimState) -> Callable[[str], datetime | None]:
    table = state.orgs[ORG].tables["contacts"]

    def time_of(zoho_id: str) -> datetime | None:
        record = table.get(zoho_id)
        return None if record is None else record_time(record)

    return time_of


# Daylight saving time ---------------------------------------------------------------------------

FALL_BACK = datetime(2026, 11, 1, 6, 0, tzinfo=UTC).timestamp()
"""New York leaves daylight saving time: 01:59:59-0400 is followed by 01:00:00-0500."""


@pytest.mark.parametrize("ignored", [False, True], ids=["keyset", "linear"])
def test_walks_across_a_dst_change_compare_instants_not_strings(ignored: bool) -> None:
    """Records on both sides of the fall-back hour: as strings, 01:30-0500 (later) sorts before
    01:45-0400 (earlier). Every record is reached once, in instant order, and the filters sent
    to Zoho carry the offset of the records they continue from."""
    state = sim(40, ignored=ignored)
    everyone = ids(state)
    # 30 records, one every 4 minutes from 01:00 EDT to 01:56 EST: the hour 01:xx happens twice.
    moments = [FALL_BACK - 3600 + 240 * n for n in range(30)]
    for zoho_id, epoch in zip(everyone[10:], moments, strict=True):
        stamp(state, zoho_id, epoch)
    stamps = {state.orgs[ORG].ctx.ts(e) for e in moments}
    assert "2026-11-01T01:56:00-0400" in stamps and "2026-11-01T01:04:00-0500" in stamps
    sent: list[str] = []

    def note(call: int, cursor: Cursor) -> None:
        if cursor.paging == "keyset" and cursor.since is not None:
            sent.append(cursor.params(6, OVERLAP)["last_modified_time"])

    walk = Walk(state.orgs[ORG], state.settings.api, per_page=6, before_call=note)
    end = walk.run(Cursor.begin(None))
    assert set(walk.handled) == set(everyone) and len(walk.handled) == len(everyone)
    assert end.high_water is not None and end.high_water.timestamp() == moments[-1]
    if not ignored:
        assert any(s.endswith("-0400") for s in sent) and any(s.endswith("-0500") for s in sent)
        instants = [parse_zoho_timestamp(s) for s in sent]
        assert instants == sorted(instants)  # type: ignore[type-var]


def test_incremental_since_across_a_dst_change_is_an_instant() -> None:
    """An incremental run from 01:55-0400 must not take 01:10-0500 (35 minutes later) as older
    because its wall-clock string is smaller."""
    state = sim(20)
    everyone = ids(state)
    before, after = FALL_BACK - 300, FALL_BACK + 600  # 01:55 EDT, then 01:10 EST
    stamp(state, everyone[0], before)
    stamp(state, everyone[1], after)
    since = parse_zoho_timestamp(state.orgs[ORG].ctx.ts(before))
    walk = Walk(state.orgs[ORG], state.settings.api, per_page=5)
    walk.run(Cursor.begin(since))
    assert walk.handled == [everyone[0], everyone[1]]
