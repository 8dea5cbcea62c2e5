"""Zoho values to column values: empty strings, numeric strings, dates, timestamps, garbage."""

from __future__ import annotations

import pytest

from tds_common.columns import (
    MappingError,
    to_boolean,
    to_date,
    to_integer,
    to_numeric,
    to_text,
    to_timestamp,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        (None, None),
        ("  ", None),
        (12, "12"),
        (149.97, "149.97"),
        ("12.000", "12.000"),
        ("1,200.50", "1200.50"),
        ("10.00%", "10.00"),
        (" 3 ", "3"),
    ],
)
def test_numeric_accepts_zoho_shapes(value: object, expected: str | None) -> None:
    assert to_numeric(value) == expected


@pytest.mark.parametrize("value", ["abc", True, "NaN", "Infinity", [1]])
def test_numeric_rejects_what_is_not_a_number(value: object) -> None:
    with pytest.raises(MappingError):
        to_numeric(value)


def test_integer_accepts_whole_numbers_only() -> None:
    assert to_integer("30") == 30 and to_integer(15.0) == 15 and to_integer("") is None
    with pytest.raises(MappingError, match="whole number"):
        to_integer("2.5")


@pytest.mark.parametrize(
    "value",
    [
        "1e9999999",
        "-1e1000000",
        "1e-9999999",
        "9" * 65,
        10**40,
        1e300,
        "1" + "0" * 40,
        "0." + "0" * 40 + "1",
    ],
)
def test_numeric_refuses_unbounded_numbers_before_any_arithmetic(value: object) -> None:
    """A hostile webhook number must fail at once (it once blocked the event loop for hours)."""
    with pytest.raises(MappingError, match=r"out of range|too long|decimal places"):
        to_numeric(value)
    with pytest.raises(MappingError):
        to_integer(value)


def test_numeric_keeps_large_and_small_but_plausible_numbers() -> None:
    assert to_numeric("123456789012345678901234567.89") == "123456789012345678901234567.89"
    assert to_numeric("0.000001") == "0.000001" and to_numeric("0") == "0"


def test_integer_refuses_what_its_column_cannot_hold() -> None:
    assert to_integer("2147483647") == 2**31 - 1
    with pytest.raises(MappingError, match="out of range for its column"):
        to_integer("2147483648")
    with pytest.raises(MappingError, match="out of range for its column"):
        to_integer("1e20")


def test_text_maps_empty_to_null_and_keeps_the_rest() -> None:
    assert to_text("") is None and to_text("x") == "x" and to_text(5) == "5"
    assert to_text(True) == "true" and to_text({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'


def test_boolean_understands_strings() -> None:
    assert to_boolean(True) is True and to_boolean("false") is False and to_boolean("") is None
    with pytest.raises(MappingError):
        to_boolean("maybe")


def test_dates_and_timestamps() -> None:
    assert to_date("2026-06-09") == "2026-06-09" and to_date("") is None
    assert to_date("2026-06-09T09:45:21-0400") == "2026-06-09"
    assert to_timestamp("2026-06-09T09:45:21-0400") == "2026-06-09T09:45:21-04:00"
    assert to_timestamp("") is None
    with pytest.raises(MappingError):
        to_date("09/06/2026")
    with pytest.raises(MappingError):
        to_timestamp("yesterday")
