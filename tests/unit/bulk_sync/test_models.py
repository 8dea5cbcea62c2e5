"""Request and command validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bulk_sync.models import SyncCommand, SyncRequest


def test_defaults_and_normalisation() -> None:
    request = SyncRequest()
    assert request.mode == "full" and request.entities is None and request.org_id is None
    selective = SyncRequest(mode="selective", entities=["invoices"], ids=["2", "1", "2"])
    assert selective.ids == ["2", "1"]


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "selective", "entities": ["invoices"]},
        {"mode": "selective", "ids": ["1"]},
        {"mode": "selective", "entities": ["invoices", "bills"], "ids": ["1"]},
        {"mode": "full", "ids": ["1"]},
        {"mode": "full", "since": "2026-06-09T09:45:21-0400"},
        {"mode": "incremental", "since": "not a time"},
        {"mode": "full", "entities": []},
        {"mode": "full", "entities": ["invoices", "invoices"]},
        {"mode": "selective", "entities": ["invoices"], "ids": ["12a"]},
        {"org_id": "abc"},
        {"colour": "red"},
    ],
)
def test_bad_requests_are_rejected(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SyncRequest.model_validate(body)


def test_command_round_trip_omits_absent_fields() -> None:
    command = SyncCommand(run_id="r", org_id="60000000001", entities=["stock"], mode="full")
    assert command.to_bytes() == (
        b'{"run_id":"r","org_id":"60000000001","entities":["stock"],"mode":"full"}'
    )
    assert SyncCommand.model_validate_json(command.to_bytes()) == command
    with pytest.raises(ValidationError):
        SyncCommand.model_validate_json(b'{"run_id":"r","org_id":"1","entities":[],"mode":"full"}')
