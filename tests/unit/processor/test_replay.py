"""Which dead letters a replay picks."""

from __future__ import annotations

from datetime import UTC, datetime

from processor.replay import DeadLetter, Selection, select


def _letter(offset: int, entity: str, queue_id: str, failed_at: str = "2026-06-09T10:00:00+00:00",
            org: str = "7") -> DeadLetter:  # fmt: skip
    headers = {"tds-entity": entity, "tds-queue-id": queue_id, "tds-failed-at": failed_at,
               "tds-org": org}  # fmt: skip
    return DeadLetter(0, offset, b"k", b"v", headers)


LETTERS = [
    _letter(0, "invoices", "1"),
    _letter(1, "products", "2", org="8"),
    _letter(2, "invoices", "1", failed_at="2026-06-10T10:00:00+00:00"),  # dead again later
    _letter(3, "unknown", ""),
]


def test_selectors_filter_and_the_latest_letter_per_queue_row_wins() -> None:
    chosen = select(LETTERS, Selection(entity="invoices"), {})
    assert [d.offset for d in chosen] == [2]
    assert [d.offset for d in select(LETTERS, Selection(org_id="8"), {})] == [1]
    assert [d.offset for d in select(LETTERS, Selection(queue_ids=frozenset({2})), {})] == [1]
    since = Selection(since=datetime(2026, 6, 10, tzinfo=UTC))
    assert [d.offset for d in select(LETTERS, since, {})] == [2]
    assert [d.offset for d in select(LETTERS, Selection(limit=2), {})] == [1, 2]


def test_letters_already_resolved_are_skipped_unless_asked() -> None:
    statuses = {1: "completed", 2: "dead_letter"}
    assert [d.offset for d in select(LETTERS, Selection(), statuses)] == [1, 3]
    everything = select(LETTERS, Selection(include_resolved=True), statuses)
    assert [d.offset for d in everything] == [1, 2, 3]
