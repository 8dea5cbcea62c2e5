"""The JSON limits ingest and every envelope share: what is refused, and that it says why."""

from __future__ import annotations

import re

import pytest

from tds_common.json_limits import MAX_JSON_DEPTH, UnsafeJsonError, check_json, parse_json


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_depth_counts_each_container_and_stops_at_the_limit() -> None:
    assert parse_json(_nested(MAX_JSON_DEPTH)) == parse_json(_nested(MAX_JSON_DEPTH))
    check_json({"a": [{"b": 1}]}, max_depth=3)
    with pytest.raises(UnsafeJsonError, match="deeper than 2 levels"):
        check_json({"a": [{"b": 1}]}, max_depth=2)
    for depth in (MAX_JSON_DEPTH + 1, 250, 100_000):  # our check, then the parser's own bound
        with pytest.raises(UnsafeJsonError, match=f"deeper than {MAX_JSON_DEPTH} levels"):
            parse_json(_nested(depth))


@pytest.mark.parametrize(
    ("text", "says", "storable"),
    [
        ("1e999", "out of range", True),
        ('{"a": [-1e400]}', "out of range", True),
        ("1" * 4301, "out of range", True),
        (r'"\ud800"', "lone UTF-16 surrogate", True),
        (r'["\udfff"]', "lone UTF-16 surrogate", True),
        (r'"\u0000"', "U+0000", False),
        (r'{"k\u0000": 1}', "U+0000", False),
    ],
)
def test_json_that_cannot_travel_unchanged_is_refused(text: str, says: str, storable: bool) -> None:
    with pytest.raises(UnsafeJsonError, match=re.escape(says)) as info:
        parse_json(text)
    assert info.value.storable is storable


def test_values_built_in_python_are_held_to_the_same_rules() -> None:
    for value in ({"x": float("nan")}, ["\ud800"], {"\x00": 1}):
        with pytest.raises(UnsafeJsonError):
            check_json(value)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "{", "[1,]", "01", '"\x01"'])
def test_text_that_is_not_json_is_a_plain_value_error_naming_the_place(text: str) -> None:
    with pytest.raises(ValueError, match=r"not valid JSON: .* at line 1 column") as info:
        parse_json(text)
    assert not isinstance(info.value, UnsafeJsonError)


def test_representable_extremes_parse_to_what_json_says() -> None:
    assert parse_json(r'["\ud83d\ude00", 1e-9999999, 1.7976931348623157e308]') == [
        "\U0001f600",
        0.0,
        1.7976931348623157e308,
    ]
    assert parse_json("1" * 4000) == int("1" * 4000)
