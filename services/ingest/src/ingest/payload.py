"""From raw webhook bytes to one validated Zoho record (no I/O here; unit-tested alone).

Accepted shapes, for entity ``products`` (module key ``item``, id field ``item_id``):

- ``application/json`` with Zoho's default payload ``{"item": {...}}`` (the record wrapped under
  the singular module key, as a detail GET returns it);
- ``application/json`` with a bare record ``{"item_id": "...", ...}``: tolerated because a
  user-defined body of ``${JSONString}`` may come unwrapped; it is recognised only by carrying
  the id field at the top level, so it cannot be confused with a wrapped one;
- ``application/x-www-form-urlencoded`` with one ``JSONString`` field holding either of the above.

The record must carry its id (a non-empty string or integer of letters, digits, ``-``, ``_``) and
a ``last_modified_time`` in Zoho's format; everything else is kept exactly as received.
Malformed JSON or form data is 400; well-formed data that is not such a record is 422.

The JSON is parsed with :func:`tds_common.json_limits.parse_json`, the parser and limits the
processor decodes envelopes with, so an accepted record always reaches the processor unchanged:
too deep, a number that overflows, a lone surrogate is 400; a U+0000 (which PostgreSQL cannot
store) is 422.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import parse_qs

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, ValidationError

from ingest.body import MediaType
from ingest.errors import InvalidRecordError, MalformedPayloadError
from tds_common.catalogue import EntitySpec
from tds_common.events import parse_zoho_timestamp
from tds_common.json_limits import UnsafeJsonError, parse_json

FORM_JSON_FIELD: Final = "JSONString"
UTF8_BOM: Final = b"\xef\xbb\xbf"
ID_PATTERN: Final = r"^[0-9A-Za-z_-]{1,64}$"
"""Zoho ids are long numeric strings; ``:`` is excluded because it separates the Kafka key."""
_ZOHO_TIMESTAMP: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?$"
)


def _id_as_text(value: Any) -> Any:
    # Zoho sends ids as strings; a user-defined payload may send a JSON number. Never a bool.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _zoho_timestamp(value: Any) -> Any:
    if not isinstance(value, str) or not _ZOHO_TIMESTAMP.match(value.strip()):
        raise ValueError("expected Zoho's format, e.g. 2026-06-09T09:45:21-0400")
    return parse_zoho_timestamp(value)


class RecordFields(BaseModel):
    """The two fields ingest needs from any record; the rest travels untouched."""

    zoho_id: Annotated[
        str, BeforeValidator(_id_as_text), StringConstraints(strict=True, pattern=ID_PATTERN)
    ]
    last_modified_time: Annotated[datetime, BeforeValidator(_zoho_timestamp)] = Field(...)


@dataclass(frozen=True)
class ParsedRecord:
    zoho_id: str
    last_modified_time: datetime
    record: dict[str, Any]


def decode_document(body: bytes, kind: MediaType) -> Any:
    """The JSON document in the body (400 when it is not parseable, 422 when unstorable)."""
    if not body.strip():
        raise MalformedPayloadError("empty request body")
    if kind == "form":
        try:
            # errors="strict": a bad %-escape must not silently become U+FFFD.
            fields = parse_qs(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, errors="strict"
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedPayloadError("body is not valid form-encoded UTF-8") from exc
        values = fields.get(FORM_JSON_FIELD)
        if not values:
            raise InvalidRecordError(
                f"form body has no {FORM_JSON_FIELD} field",
                [{"field": FORM_JSON_FIELD, "problem": "missing"}],
            )
        if len(values) > 1:
            raise MalformedPayloadError(f"form body has more than one {FORM_JSON_FIELD} field")
        text: str | bytes = values[0]
    else:
        text = body.removeprefix(UTF8_BOM)  # RFC 8259 lets a parser ignore it; some senders add it
    try:
        return parse_json(text)
    except UnsafeJsonError as exc:
        if not exc.storable:
            raise InvalidRecordError(
                f"record is not usable: {exc}", [{"field": "(record)", "problem": str(exc)}]
            ) from exc
        raise MalformedPayloadError(f"body cannot be carried as JSON: {exc}") from exc
    except ValueError as exc:
        raise MalformedPayloadError(f"body is {exc}") from exc


def unwrap(document: Any, spec: EntitySpec) -> dict[str, Any]:
    """The record inside ``{"<module_key>": {...}}`` or a bare record with the id field."""
    if not isinstance(document, dict):
        raise InvalidRecordError(
            f'payload must be a JSON object like {{"{spec.module_key}": {{...}}}}',
            [{"field": "(root)", "problem": "not an object"}],
        )
    if spec.module_key in document:
        record = document[spec.module_key]
        if not isinstance(record, dict):
            raise InvalidRecordError(
                f'"{spec.module_key}" must be a JSON object',
                [{"field": spec.module_key, "problem": "not an object"}],
            )
        return record
    if spec.id_field in document:
        return document
    raise InvalidRecordError(
        f'payload must wrap the record as {{"{spec.module_key}": {{...}}}} '
        f"(or be a bare record carrying {spec.id_field})",
        [{"field": spec.module_key, "problem": "missing"}],
    )


def validate_record(record: dict[str, Any], spec: EntitySpec) -> ParsedRecord:
    """Check id and ``last_modified_time``; 422 naming each bad field otherwise."""
    try:
        fields = RecordFields.model_validate(
            {
                "zoho_id": record.get(spec.id_field),
                "last_modified_time": record.get("last_modified_time"),
            }
        )
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_input=False, include_url=False):
            name = str(error["loc"][0]) if error["loc"] else "(record)"
            field = spec.id_field if name == "zoho_id" else name
            missing = record.get(field) is None or record.get(field) == ""
            problem = "missing" if missing else str(error["msg"]).removeprefix("Value error, ")
            errors.append({"field": field, "problem": problem})
        listed = ", ".join(f"{e['field']} ({e['problem']})" for e in errors)
        raise InvalidRecordError(f"record is not usable: {listed}", errors) from exc
    return ParsedRecord(fields.zoho_id, fields.last_modified_time, record)


def parse_webhook(body: bytes, kind: MediaType, spec: EntitySpec) -> ParsedRecord:
    """Body bytes → validated record (400 / 422 as documented above)."""
    return validate_record(unwrap(decode_document(body, kind), spec), spec)
