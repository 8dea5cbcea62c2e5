"""What a listed record needs given the stored row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bulk_sync.stored import need
from tds_common.catalogue import get_entity
from tds_common.mirror.reads import Stored

T = datetime(2026, 6, 9, tzinfo=UTC)
LATER = T + timedelta(seconds=1)


def test_new_deleted_or_newer_records_are_written() -> None:
    spec = get_entity("customers")
    assert need(spec, T, None) == "write"
    assert need(spec, T, Stored(T, deleted=True, complete=True)) == "write"
    assert need(spec, LATER, Stored(T, deleted=False, complete=True)) == "write"
    assert need(spec, None, Stored(T, deleted=False, complete=True)) == "write"


def test_current_rows_are_skipped_and_incomplete_documents_completed() -> None:
    assert need(get_entity("customers"), T, Stored(LATER, False, True)) == "skip"
    assert need(get_entity("invoices"), T, Stored(T, False, complete=True)) == "skip"
    assert need(get_entity("invoices"), T, Stored(T, False, complete=False)) == "complete"


def test_unversioned_entities_are_always_written() -> None:
    assert need(get_entity("warehouses"), None, Stored(None, False, True)) == "write"


def test_another_content_at_the_stored_version_is_written() -> None:
    # Two edits in one second share a version: the list shows what Zoho holds now.
    assert need(get_entity("customers"), T, Stored(T, False, True, same=False)) == "write"
    assert need(get_entity("customers"), T, Stored(LATER, False, True, same=False)) == "skip"
