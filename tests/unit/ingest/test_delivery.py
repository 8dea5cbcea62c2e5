"""Organization and operation from the webhook's URL and headers."""

from __future__ import annotations

import pytest

from ingest.delivery import resolve_op, resolve_org
from ingest.errors import InvalidParameterError


def test_org_header_then_query_then_default() -> None:
    assert resolve_org("11", "22", "33") == "11"
    assert resolve_org(None, "22", "33") == "22"
    assert resolve_org(None, None, "33") == "33"


@pytest.mark.parametrize(
    ("header", "default"), [(None, ""), ("1:2", "3"), ("acme-1", "3"), ("1" * 33, "3")]
)
def test_missing_or_bad_org_is_400(header: str | None, default: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        resolve_org(header, None, default)
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    ("query", "header", "op"),
    [
        (None, None, "upsert"),
        ("delete", None, "delete"),
        ("DELETE", None, "delete"),
        (None, "deleted", "delete"),
        (None, "edited", "upsert"),
        ("delete", "deleted", "delete"),
        ("upsert", "created", "upsert"),
        ("create", None, "upsert"),
        ("edit", "edited", "upsert"),
        ("edit", "deleted", None),
    ],
)
def test_operation(query: str | None, header: str | None, op: str | None) -> None:
    if op is None:
        with pytest.raises(InvalidParameterError):
            resolve_op(query, header)
    else:
        assert resolve_op(query, header) == op


@pytest.mark.parametrize(
    ("query", "header"), [("remove", None), (None, "archived"), ("delete", "edited")]
)
def test_bad_or_conflicting_operation_is_400(query: str | None, header: str | None) -> None:
    with pytest.raises(InvalidParameterError):
        resolve_op(query, header)
