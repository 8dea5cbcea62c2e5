"""tds_common.pg_json: orjson's speed, json's reach (what json encoded is still encoded)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tds_common.pg_json import dumps


@pytest.mark.parametrize(
    "value",
    [
        [{"org_id": "1", "raw": {"name": "Café ☕", "rate": 12.5, "tags": [], "n": None}}],
        {"big": 2**70, "negative": -(2**80)},  # beyond orjson's 64-bit integers
        {"nested": [[[[{"deep": True}]]]]},
        {"1": "text keys only"},
    ],
)
def test_the_text_is_what_json_wrote(value: Any) -> None:
    text = dumps(value)
    assert json.loads(text) == value
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_what_orjson_refuses_is_encoded_as_json_did() -> None:
    lone = {"text": "\ud800"}  # PostgreSQL refuses it later, exactly as before
    assert dumps(lone) == json.dumps(lone, separators=(",", ":"), ensure_ascii=False)
    assert dumps({1: "int key"}) == '{"1":"int key"}'


def test_a_value_json_has_no_type_for_is_an_error_unless_a_default_is_given() -> None:
    with pytest.raises(TypeError):
        dumps({"amount": Decimal("1.50")})
    assert json.loads(dumps({"amount": Decimal("1.50")}, default=str)) == {"amount": "1.50"}
