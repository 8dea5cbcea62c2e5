"""Which selections a replay accepts (the API answers 422 for the others)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from processor.api.dead_letters import ReplayRequest
from processor.replay import Selection


def test_a_selection_must_narrow_the_letters_or_say_all() -> None:
    with pytest.raises(ValidationError, match="or set all"):
        Selection()
    assert Selection.model_validate({"all": True}).every
    assert Selection(entity="invoices").entity == "invoices"
    assert Selection(queue_ids=frozenset({3})).queue_ids == {3}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"since": "2026-06-10T00:00:00Z", "until": "2026-06-09T00:00:00Z"}, "before until"),
        ({"since": "2026-06-10T00:00:00"}, "timezone"),
        ({"org_id": "60-1"}, "pattern"),
        ({"queue_ids": [0]}, "greater than or equal to 1"),
        ({"entity": ""}, "at least 1 character"),
        ({"all": True, "limit": 0}, "greater than or equal to 1"),
        ({"all": True, "colour": "red"}, "Extra inputs"),
    ],
)
def test_malformed_selections_are_refused(body: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ReplayRequest.model_validate(body)


def test_a_request_carries_its_dry_run_beside_the_selection() -> None:
    request = ReplayRequest.model_validate(
        {"org_id": "60000000001", "since": "2026-06-09T00:00:00Z", "dry_run": True}
    )
    assert request.dry_run
    assert request.since == datetime(2026, 6, 9, tzinfo=UTC)
