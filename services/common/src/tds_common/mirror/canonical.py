"""Canonical JSON of a record: the text its content digest hashes and the Python rule compares.

The text is ``json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)``, byte for
byte, as every release wrote it: digests are stored (in the inbox's dedup keys), so a text that
differed by one byte would let a redelivery pass for a new event while two releases run side by
side. :mod:`json` took ~55 us of a 2 KB invoice's digest (the processor's largest share of
preparing a batch); orjson writes the same text in ~4 us, except in three places, handled here:

- characters outside printable ASCII: :mod:`json` escapes them (``\\u00e9``, a surrogate pair
  above U+FFFF, and DEL), orjson writes them as they are. They only occur inside strings, so
  escaping them in orjson's text gives :mod:`json`'s.
- floats below 1e-4: :mod:`json` writes ``repr`` (``1e-05``), orjson ``0.00001`` or ``1e-5``.
  Any text holding ``0.0000`` or an exponent (``e-5``, ``e+16``) is written by :mod:`json` (a
  string shaped like that costs the slow path, never a different text).
- what orjson refuses (integers beyond 64 bits, lone surrogates, keys that are not strings) or
  would write its own way (datetimes, dataclasses, subclasses of str/int/dict/list, which
  :mod:`json` writes through ``default=str`` or as their base type): :mod:`json` writes it.

Records come from JSON (envelopes, reads), so nothing else reaches it: no non-finite float
(:mod:`tds_common.json_limits` refuses them), no enum.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import orjson

_OPTIONS: Final = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_EXPONENT: Final = re.compile(r"e[-+]\d")
"""orjson's exponent (``2.5e-9``, ``1e+16``); strings holding it are false alarms only. A
pattern led by a character class (a digit, then ``e``) would cost more than the encoding itself."""
_NOT_PRINTABLE_ASCII: Final = re.compile("[^\x00-\x7e]")
"""What :mod:`json` escapes and orjson does not (below U+0020 both escape alike)."""


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def _stdlib(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def canonical_json(value: Any) -> str:
    """``value`` as :mod:`json` writes it sorted and compact (see the module docstring)."""
    try:
        text = orjson.dumps(value, default=_refuse, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return _stdlib(value)
    if "0.0000" in text or _EXPONENT.search(text):  # a float json writes otherwise, maybe
        return _stdlib(value)
    if text.isascii() and "\x7f" not in text:
        return text
    return _NOT_PRINTABLE_ASCII.sub(_escaped, text)
