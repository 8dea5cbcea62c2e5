"""Typed mirror columns: Zoho JSON values to column values, once, for every mirror table.

Zoho sends ids as strings, empty values as ``""``, amounts as numbers (stock figures sometimes as
strings), dates as ``yyyy-mm-dd`` and timestamps as ``2026-06-09T09:45:21-0400``. Each converter
returns a JSON-ready value (the rows travel to PostgreSQL as one JSON document per statement, see
:mod:`tds_common.mirror.sql`): ``None`` for empty, ``str`` for numerics (exact, no float rounding),
ISO strings for dates and timestamps. A value that cannot be what the column says raises
:class:`MappingError`, which makes the record a poison record, never a silently wrong row.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from tds_common.errors import InvalidMessageError
from tds_common.events import parse_zoho_timestamp

Converter = Callable[[Any], Any]

_TRUE: Final = frozenset({"true", "1", "yes", "y"})
# Bounds on numbers before any arithmetic: Decimal parses "1e9999999" at once, but turning it
# into an int (or PostgreSQL into numeric) takes minutes and blocks the event loop. No amount,
# rate or quantity in Zoho comes near these; anything beyond is refused as a poison value.
MAX_NUMBER_TEXT: Final = 64
MAX_INTEGER_DIGITS: Final = 30
MAX_FRACTION_DIGITS: Final = 30
_INTEGER_BOUND: Final = 10**MAX_INTEGER_DIGITS
# PostgreSQL ``integer`` columns (payment_terms, item_order).
INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
_FALSE: Final = frozenset({"false", "0", "no", "n"})


class MappingError(InvalidMessageError):
    """A field's value does not fit its column; the record can never be stored as it is."""

    error_code = "mapping_error"


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def to_text(value: Any) -> str | None:
    """Text columns: ``""`` → NULL (so ``IS NULL`` finds every empty value); numbers as text."""
    if isinstance(value, str):
        return value if value.strip() else None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return json.dumps(value, sort_keys=True)


def to_numeric(value: Any) -> str | None:
    """Exact decimal as a string. Accepts numbers and numeric strings (``"12.5"``, ``"1,200"``).

    A trailing ``%`` (Zoho writes line discounts as ``"10.00%"``) is dropped; ``raw`` keeps it.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise MappingError(f"expected a number, got a boolean: {value!r}")
    if isinstance(value, int):
        # Python ints are exact but unbounded; bound them like any other number.
        if abs(value) >= _INTEGER_BOUND:
            raise MappingError(f"number out of range (more than {MAX_INTEGER_DIGITS} digits)")
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        # Zoho's amounts, mostly. Without an exponent, a float's repr is what Decimal would
        # print back, and within every bound below (repr turns to exponent notation for
        # magnitudes under 1e-4 and from 1e16): skip the arithmetic.
        if "e" not in text and math.isfinite(value):
            return text
    elif _empty(value):
        return None
    text = str(value).strip().replace(",", "").removesuffix("%")
    if len(text) > MAX_NUMBER_TEXT:
        raise MappingError(f"number too long ({len(text)} characters), got {text[:40]!r}…")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise MappingError(f"expected a number, got {str(value)[:40]!r}") from exc
    if not number.is_finite():
        raise MappingError(f"expected a finite number, got {str(value)[:40]!r}")
    if number and not -MAX_FRACTION_DIGITS <= number.adjusted() < MAX_INTEGER_DIGITS:
        raise MappingError(f"number out of range, got {str(value)[:40]!r}")
    if number.as_tuple().exponent < -MAX_FRACTION_DIGITS:  # type: ignore[operator]
        raise MappingError(f"too many decimal places, got {str(value)[:40]!r}")
    return str(number)


def to_integer(value: Any) -> int | None:
    """Whole numbers (``payment_terms``, ``item_order``); ``"30"`` and ``30.0`` are fine."""
    if type(value) is int and INT32_MIN <= value <= INT32_MAX:
        return value  # what the general path below returns for it, without the arithmetic
    numeric = to_numeric(value)
    if numeric is None:
        return None
    number = Decimal(numeric)
    if number != number.to_integral_value():
        raise MappingError(f"expected a whole number, got {numeric}")
    whole = int(number)  # safe: to_numeric bounded the exponent
    if not INT32_MIN <= whole <= INT32_MAX:
        raise MappingError(f"whole number out of range for its column, got {numeric}")
    return whole


def to_boolean(value: Any) -> bool | None:
    if _empty(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise MappingError(f"expected a boolean, got {str(value)[:40]!r}")


def to_date(value: Any) -> str | None:
    """``yyyy-mm-dd``; a timestamp is cut to its date part."""
    if _empty(value):
        return None
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise MappingError(f"expected a date (yyyy-mm-dd), got {text[:40]!r}") from exc


def to_timestamp(value: Any) -> str | None:
    """Zoho's ``2026-06-09T09:45:21-0400`` as an ISO timestamp with its offset."""
    if _empty(value):
        return None
    try:
        parsed = parse_zoho_timestamp(str(value))
    except ValueError as exc:
        raise MappingError(f"expected a timestamp, got {str(value)[:40]!r}") from exc
    return parsed.isoformat() if parsed else None


PG_TYPES: Final[dict[Converter, str]] = {
    to_text: "text",
    to_numeric: "numeric",
    to_integer: "integer",
    to_boolean: "boolean",
    to_date: "date",
    to_timestamp: "timestamptz",
}
"""The PostgreSQL type each converter's output is read as."""


@dataclass(frozen=True)
class Column:
    """One typed column: its name, the Zoho fields to read (first non-empty wins), converter."""

    name: str
    convert: Converter = to_text
    fields: tuple[str, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        return self.fields or (self.name,)


@dataclass(frozen=True, eq=False)  # one per child table, like EntitySpec: hashed per record
class ChildSpec:
    """A child table replaced as a whole whenever its parent's write wins."""

    table: str
    list_field: str
    """The array in the parent record, e.g. ``line_items``."""
    key_column: str
    """The child's own id column (with org_id and the parent id it forms the primary key)."""
    columns: tuple[Column, ...]


def columns(*names: str, convert: Converter = to_text) -> tuple[Column, ...]:
    """Several columns that read the Zoho field of their own name with one converter."""
    return tuple(Column(name, convert) for name in names)
