"""What the write path computes once per event, not once per use (issue 18: profiled costs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from processor.pipeline import decode
from tds_common.mirror import content_digest
from tests.unit.mirror import factories as f


@dataclass
class Record:
    value: bytes | None
    topic: str = "t"
    partition: int = 0
    offset: int = 7
    key: bytes | None = None


def test_an_items_content_digest_is_computed_once_and_again_for_a_new_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digests: list[Mapping[str, Any]] = []

    def counting(record: Mapping[str, Any]) -> str:
        digests.append(record)
        return content_digest(record)

    monkeypatch.setattr("processor.records.content_digest", counting)
    item = decode(Record(f.envelope("products", "1", f.product("1", version=2)).to_bytes()))
    first = item.dedup_key
    assert item.dedup_key == first and item.dedup_key == first
    assert len(digests) == 1
    # Another envelope on the same item (as tests and replays may set): its own key.
    item.envelope = f.envelope("products", "1", f.product("1", version=2, name="Renamed"))
    assert item.dedup_key != first
    assert len(digests) == 2
    item.envelope = None
    assert item.dedup_key == "invalid:t:0:7"
