"""bench_bulk_budget.keyset_list_calls is the call count of bulk-sync's own keyset walk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.bench_bulk_budget import keyset_list_calls
from bulk_sync.cursor import Cursor
from tds_common.events import parse_zoho_timestamp

PER_PAGE = 200
OVERLAP_SECONDS = 1


def _walk(records: list[tuple[str, datetime]]) -> int:
    """List calls of a full run's walk over a Zoho list sorted by time, filtered ``>=``."""
    cursor, calls = Cursor.begin(None), 0
    while not cursor.done:
        params = cursor.params(PER_PAGE, OVERLAP_SECONDS)
        since = parse_zoho_timestamp(params.get("last_modified_time"))
        listed = [r for r in records if since is None or r[1] >= since]
        page = int(params["page"])
        on_page = listed[(page - 1) * PER_PAGE : page * PER_PAGE]
        calls += 1
        _, cursor = cursor.step(on_page, len(listed) > page * PER_PAGE, OVERLAP_SECONDS)
    return calls


@pytest.mark.parametrize("count", [1, 200, 201, 399, 400, 2000, 10_000])
def test_the_walk_lists_each_pages_newest_record_again(count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    records = [(str(n), start + timedelta(seconds=2 * n)) for n in range(count)]
    assert _walk(records) == keyset_list_calls(count)


def test_ten_thousand_records_take_one_call_more_than_fifty_full_pages() -> None:
    # 200 new records on the first page, 199 on each later one: 1 + ceil(9,800 / 199).
    assert keyset_list_calls(10_000) == 51
    assert keyset_list_calls(50_000) == 252
