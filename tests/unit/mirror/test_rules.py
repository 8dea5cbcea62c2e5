"""The monotonic rule in its Python form (tds_common.mirror.rules), branch by branch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tds_common.mirror import Version, content_digest, same_content, verdict
from tds_common.mirror.rules import Verdict

V = datetime(2026, 6, 9, 13, 45, 21, tzinfo=UTC)
SEEN = datetime(2026, 6, 9, 14, 0, tzinfo=UTC)
A = {"status": "sent", "total": 10}
B = {"status": "paid", "total": 10}


def _v(
    modified: datetime | None = V,
    *,
    deleted: bool = False,
    seen: int | None = 0,
    read: bool = False,
    content: dict[str, object] | None = None,
) -> Version:
    observed = None if seen is None else SEEN + timedelta(seconds=seen)
    return Version(modified, deleted, observed, read, A if content is None else content)


LATER = V + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("new", "old", "expected"),
    [
        (_v(LATER), _v(), "win"),  # newer version
        (_v(V - timedelta(seconds=1)), _v(), "lose"),  # older version
        (_v(None), _v(), "lose"),  # no version never overwrites a versioned row
        (_v(None), _v(None), "win"),  # unversioned entities: last write wins
        (_v(None, deleted=True), _v(), "lose"),  # a pushed delete without a version
        (_v(None, deleted=True, read=True, seen=5), _v(seen=1), "win"),  # a 404 read later
        (_v(None, deleted=True, read=True, seen=1), _v(seen=5), "lose"),  # seen alive after it
        (_v(deleted=True), _v(LATER), "lose"),  # a delete older than the row
        (_v(deleted=True), _v(), "win"),  # a pushed delete at the version is final
        (_v(content=B), _v(), "conflict"),  # same second, other pushed content
        (_v(), _v(), "win"),  # an identical redelivery agrees
        (_v(content={"status": "sent"}), _v(), "win"),  # a narrower view agrees
        (_v(content=B, read=True, seen=5), _v(seen=1), "win"),  # a later read settles it
        (_v(content=B, read=True, seen=1), _v(seen=5), "conflict"),  # an older read does not
        (_v(content=B, read=True, seen=5), _v(seen=None), "win"),  # seen at an unknown time
        (_v(content=B), _v(deleted=True), "lose"),  # pushed content after the tombstone
        (_v(read=True, seen=5), _v(deleted=True, seen=1), "win"),  # alive after a wrong delete
    ],
)
def test_verdicts(new: Version, old: Version, expected: Verdict) -> None:
    assert verdict(new, old) == expected


def test_same_content_compares_only_the_keys_both_carry() -> None:
    assert same_content({"a": 1}, {"a": 1, "b": [1, 2]})
    assert same_content({"b": {"x": 1, "y": 2}}, {"b": {"y": 2, "x": 1}})
    assert not same_content({"a": 1, "b": None}, {"b": ""})


def test_content_digest_tells_contents_apart_not_key_order() -> None:
    assert content_digest({"a": 1, "b": 2}) == content_digest({"b": 2, "a": 1})
    assert content_digest(A) != content_digest(B)


def test_content_digest_is_the_one_stored_digests_were_made_with() -> None:
    """Dedup keys in the inbox carry it: a new release must digest a record as the last did."""
    record = {"status": "sent", "total": 10, "rate": 1e-05, "name": "Zoë ₹"}
    assert content_digest(record) == "17ade261d8605359"
    assert content_digest({**record, "rate": 1e-04}) != "17ade261d8605359"
