"""Creates, updates and deletes through Zoho's API: validation, the change, the search index.

Pure of HTTP: :mod:`zoho_sim.routes.writes` parses the request and renders the answer. What a
write does (docs/zoho-api.md, "Entities and fields"): ``POST /<module>`` creates, ``PUT
/<module>/{id}`` replaces the given fields (a given ``line_items`` replaces all lines), ``DELETE
/<module>/{id}`` removes. Every change stamps ``last_modified_time`` like a control-API edit and
fires the same webhook. Validation codes and messages are guesses (UNCONFIRMED), each
configurable in :class:`WriteSettings`.

Zoho has no idempotency keys: a client finds its own earlier create again by a field it set,
searched on the list (``GET /invoices?reference_number=...``, ``GET /contacts?cf_tds_key=...``;
UNCONFIRMED that Zoho searches custom fields this way). The simulator keeps an index of the
searchable values its API writes set.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any, Final

from zoho_sim.entities import EntitySpec
from zoho_sim.errors import INTERNAL_ERROR_MESSAGE, ZohoError, invalid_value, not_found
from zoho_sim.generate import Record, align_inventory_fields
from zoho_sim.write_rules import WriteFaults, WriteSettings

if TYPE_CHECKING:  # the state holds a WriteState: a runtime import would be circular
    from zoho_sim.state import Org

WRITABLE: Final = frozenset({"items", "contacts", "invoices", "bills", "creditnotes"})
"""Modules that accept POST/PUT/DELETE (TDS's write-back entities)."""
DOCUMENTS: Final = frozenset({"invoices", "bills", "creditnotes"})
_PARTY_FIELD: Final = {
    "invoices": "customer_id",
    "creditnotes": "customer_id",
    "bills": "vendor_id",
}
_LINE_ITEM_ID_CODE: Final = 95
"""Entity code of line-item ids made by API writes (clear of the generator's codes)."""
_SERVER_FIELDS: Final = frozenset({"created_time", "last_modified_time"})


class WriteState:
    """Write faults, counters and the search index of one simulator."""

    def __init__(self, settings: WriteSettings) -> None:
        self.settings = settings
        self.faults = WriteFaults()
        self.applied: dict[str, int] = {}
        """``<METHOD> <module>`` → writes applied (whatever was answered)."""
        self._index: dict[tuple[str, str, str, str], str] = {}
        """(org, module, field, value) → record id."""
        self._line_ids = itertools.count()
        self._answers = asyncio.Event()
        self._answers.set()

    def set_faults(self, faults: WriteFaults) -> None:
        self.faults = faults
        if faults.hold_after_apply:
            self._answers.clear()
        else:
            self._answers.set()

    async def answer_or_fail(self) -> None:
        """After a write was applied: wait while answers are held, then maybe fail it."""
        await self._answers.wait()
        status = self.faults.take()
        if status is not None:
            raise ZohoError(status, 1000, INTERNAL_ERROR_MESSAGE)

    def reset(self) -> None:
        self.set_faults(WriteFaults())
        self.applied.clear()
        self._index.clear()

    def count(self, method: str, spec: EntitySpec) -> None:
        key = f"{method} {spec.path}"
        self.applied[key] = self.applied.get(key, 0) + 1

    def remember(self, org: Org, spec: EntitySpec, record: Record) -> None:
        values = _searchable(record)
        for field in self.settings.searchable_fields:
            value = values.get(field)
            if value:
                self._index[(org.settings.organization_id, spec.path, field, value)] = str(
                    record[spec.id_field]
                )

    def search(self, org: Org, spec: EntitySpec, field: str, value: str) -> list[Record]:
        """Records whose ``field`` is ``value`` now (an edit may have changed it since)."""
        record_id = self._index.get((org.settings.organization_id, spec.path, field, value))
        record = org.tables[spec.path].get(record_id) if record_id else None
        if record is None or _searchable(record).get(field) != value:
            return []
        return [record]

    def line_item_id(self, org: Org) -> str:
        return org.ctx.make_id(_LINE_ITEM_ID_CODE, next(self._line_ids))


def _searchable(record: Record) -> dict[str, str]:
    values = {k: str(v) for k, v in record.items() if isinstance(v, str | int) and v != ""}
    for field in record.get("custom_fields") or []:
        if (
            isinstance(field, dict)
            and field.get("api_name")
            and field.get("value")
            not in (
                None,
                "",
            )
        ):
            values[str(field["api_name"])] = str(field["value"])
    return values


def _refuse(code: int, message: str) -> ZohoError:
    return ZohoError(400, code, message)


def validate(
    writes: WriteState, org: Org, spec: EntitySpec, fields: dict[str, Any], *, create: bool
) -> None:
    """Zoho's checks: mandatory fields, then references to other records."""
    rules = writes.settings
    stamped = sorted(k for k in fields if k in _SERVER_FIELDS or k == spec.id_field)
    if stamped:
        raise invalid_value(stamped[0])
    if create:
        for name in rules.required_fields.get(spec.path, []):
            if fields.get(name) in (None, "", []):
                raise _refuse(rules.missing_field_code, f"{name} is mandatory.")
    party = _PARTY_FIELD.get(spec.path)
    if party and party in fields and org.tables["contacts"].get(str(fields[party])) is None:
        raise _refuse(rules.invalid_value_code, f"Invalid value passed for {party}")
    lines = fields.get("line_items")
    if lines is None:
        return
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise _refuse(rules.invalid_value_code, "Invalid value passed for line_items")
    for line in lines:
        item_id = line.get("item_id")
        if item_id and org.tables["items"].get(str(item_id)) is None:
            raise _refuse(rules.invalid_value_code, "Invalid value passed for item_id")


def _custom_field_hash(record: Record) -> None:
    fields = record.get("custom_fields")
    if not isinstance(fields, list):
        return
    hashed = dict(record.get("custom_field_hash") or {})
    for field in fields:
        if isinstance(field, dict) and field.get("api_name"):
            hashed[str(field["api_name"])] = field.get("value")
            hashed[f"{field['api_name']}_unformatted"] = field.get("value")
    record["custom_field_hash"] = hashed


def _lines(writes: WriteState, org: Org, given: list[dict[str, Any]]) -> list[Record]:
    """Zoho's line items from the request's: ids assigned, names and totals filled in."""
    lines: list[Record] = []
    for position, line in enumerate(given):
        item = org.tables["items"].get(str(line.get("item_id") or ""))
        rate = float(line.get("rate", item.get("rate", 0) if item else 0) or 0)
        quantity = float(line.get("quantity", 1) or 0)
        lines.append(
            {
                "line_item_id": str(line.get("line_item_id") or writes.line_item_id(org)),
                "item_id": str(line.get("item_id") or ""),
                "name": line.get("name") or (item.get("name") if item else "Services"),
                "description": line.get("description", ""),
                "item_order": position + 1,
                "rate": rate,
                "bcy_rate": rate,
                "quantity": quantity,
                "unit": line.get("unit", "pcs"),
                "discount": 0,
                "tax_id": "",
                "tax_name": "",
                "tax_percentage": 0,
                "item_total": round(rate * quantity, 2),
            }
        )
    return lines


def _apply_fields(
    writes: WriteState, org: Org, spec: EntitySpec, record: Record, fields: dict[str, Any]
) -> None:
    record.update({k: v for k, v in fields.items() if k != "line_items"})
    party = _PARTY_FIELD.get(spec.path)
    if party and party in fields:
        contact = org.tables["contacts"].get(str(fields[party])) or {}
        record[party.replace("_id", "_name")] = contact.get("contact_name", "")
    if spec.path in DOCUMENTS and "line_items" in fields:
        record["line_items"] = _lines(writes, org, fields["line_items"])
        total = round(sum(float(line["item_total"]) for line in record["line_items"]), 2)
        record.update(
            {
                "sub_total": total,
                "tax_total": 0,
                "taxes": [],
                "total": total,
                "bcy_sub_total": total,
                "bcy_tax_total": 0,
                "bcy_total": total,
                "balance": total,
            }
        )
    _custom_field_hash(record)


def create(writes: WriteState, org: Org, spec: EntitySpec, fields: dict[str, Any]) -> Record:
    """A new record: a generated one (for the fields the request leaves out) with the given
    fields on top. Not stored yet (the caller stamps and stores it)."""
    validate(writes, org, spec, fields, create=True)
    table = org.tables[spec.path]
    record = table.new_record()
    if spec.path in DOCUMENTS:
        record.pop("_party", None)
        record.pop("_party_name", None)
        record["reference_number"] = ""
        record["status"] = "draft"
    record["custom_fields"] = []
    record["custom_field_hash"] = {}
    _apply_fields(writes, org, spec, record, fields)
    if spec.path == "items":
        align_inventory_fields(org.ctx, record, int(str(record["item_id"])[-12:]))
    return record


def update(
    writes: WriteState, org: Org, spec: EntitySpec, record_id: str, fields: dict[str, Any]
) -> Record:
    """The stored record with the given fields replaced (not stored yet)."""
    record = org.tables[spec.path].get(record_id)
    if record is None:
        raise not_found(spec.label)
    validate(writes, org, spec, fields, create=False)
    _apply_fields(writes, org, spec, record, fields)
    return record


def existing(org: Org, spec: EntitySpec, record_id: str) -> Record:
    record = org.tables[spec.path].get(record_id)
    if record is None:
        raise not_found(spec.label)
    return record
