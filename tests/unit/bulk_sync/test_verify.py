"""What the verifier calls a difference between a listed record and its stored row."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bulk_sync.verify import differs
from tds_common.catalogue import get_entity
from tds_common.mirror.reads import StoredRecord

LISTED: dict[str, Any] = {
    "contact_id": "460112000000000001",
    "contact_name": "Ada Lovelace",
    "email": "ada@example.com",
    "last_modified_time": "2026-06-09T09:45:21-0400",
    "outstanding_receivable_amount_formatted": "$0.00",
}
VERSION = datetime(2026, 6, 9, 13, 45, 21, tzinfo=UTC)


def _stored(**changes: Any) -> StoredRecord:
    return replace(StoredRecord(dict(LISTED), VERSION, deleted=False), **changes)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (_stored(), False),
        # The same instant written in another offset is the same version.
        (_stored(raw={**LISTED, "last_modified_time": "2026-06-09T08:45:21-0500"}), False),
        # Fields no typed column reads (formatted copies, notes) are not drift.
        (_stored(raw={**LISTED, "outstanding_receivable_amount_formatted": "$1.00"}), False),
        (None, True),  # lost row
        (_stored(deleted=True), True),  # deleted by mistake
        (_stored(modified=datetime(2026, 6, 9, tzinfo=UTC)), True),
        (_stored(raw={**LISTED, "email": "wrong@example.com"}), True),
    ],
)
def test_differs(stored: StoredRecord | None, expected: bool) -> None:
    assert differs(get_entity("customers"), LISTED, stored) is expected
