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


def test_subclasses_from_python_code_are_walked_too() -> None:
    class Text(str):
        """A str subclass, as Python code (not the JSON parser) may hand one over."""

    class Record(dict[str, object]):
        """A dict subclass, likewise."""

    for value in (Record(k=Text("a\x00")), [Record({Text("\x00"): 1})], Record(x=float("inf"))):
        with pytest.raises(UnsafeJsonError):
            check_json(value)
    check_json(Record(k=[Text("fine"), True, None, 1, 2.5]))


@pytest.mark.parametrize("as_bytes", [True, False])
def test_strings_are_searched_whenever_the_text_has_an_escaped_nul(as_bytes: bool) -> None:
    # parse_json skips the string search only for text without "\u0000"; with one anywhere,
    # every string and key is searched, so a NUL deep in a large record is still found.
    def given(text: str) -> bytes | str:
        return text.encode() if as_bytes else text

    filler = ", ".join(f'"k{n}": ["text {n}", {n}, {n}.5, null, true]' for n in range(50))
    for deep in (r'[[{"x": "a\u0000b"}]]', r'[[{"x\u0000": 1}]]'):
        with pytest.raises(UnsafeJsonError, match="U\\+0000") as info:
            parse_json(given("{" + filler + ', "deep": ' + deep + "}"))
        assert info.value.storable is False
    # An escaped backslash before "u0000" is six characters of text, not a NUL.
    assert parse_json(given(r'{"path": "C:\\u0000"}')) == {"path": "C:\\u0000"}
    assert parse_json(given("{" + filler + "}"))["k49"] == ["text 49", 49, 49.5, None, True]


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
