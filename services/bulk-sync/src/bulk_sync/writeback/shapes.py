"""Zoho's request shapes per entity, pure: paths, the idempotency key, local_ref references.

A payload uses Zoho's own field names (docs/zoho-api.md, "Key fields"). Where it names a record
the ERP created through the outbox it may use that record's local_ref instead of its Zoho id:
``customer_local_ref`` (→ ``customer_id``), ``vendor_local_ref`` (→ ``vendor_id``), and per line
item ``item_local_ref`` (→ ``item_id``). The relay replaces them once the referenced create is
applied; until then the write waits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from tds_common.catalogue import ENTITIES, EntitySpec

WriteEntity = Literal["customers", "products", "invoices", "bills", "credit-notes"]
WRITE_ENTITIES: Final[tuple[WriteEntity, ...]] = (
    "customers",
    "products",
    "invoices",
    "bills",
    "credit-notes",
)
Op = Literal["create", "update", "delete"]
WriteStatus = Literal["pending", "in_flight", "applied", "conflict", "rejected", "failed"]
"""An outbox row's status (``tds_outbox.status``; see :mod:`bulk_sync.writeback.store`)."""

TOP_REFERENCES: Final = {"customer_local_ref": "customer_id", "vendor_local_ref": "vendor_id"}
LINE_REFERENCES: Final = {"item_local_ref": "item_id"}
REFERENCED_ENTITY: Final = {
    "customer_id": "customers",
    "vendor_id": "customers",
    "item_id": "products",
}
CUSTOM_FIELD_PREFIX: Final = "cf_"

LocalKey = tuple[str, str]
"""(entity, local_ref) of a record the ERP created."""


class UnresolvedReferenceError(Exception):
    """A payload names a local_ref that has no Zoho id (yet)."""

    def __init__(self, key: LocalKey) -> None:
        super().__init__(f"{key[0]} local_ref {key[1]!r} has no Zoho record")
        self.key = key


def spec_of(entity: str) -> EntitySpec:
    return ENTITIES[entity]


def carries_key(payload: Mapping[str, Any], key_field: str) -> bool:
    """Whether the payload sets the field TDS keeps the idempotency key in."""
    if not key_field.startswith(CUSTOM_FIELD_PREFIX):
        return key_field in payload
    fields = payload.get("custom_fields") or []
    return any(isinstance(f, Mapping) and f.get("api_name") == key_field for f in fields)


def carried_value(record: Mapping[str, Any], key_field: str) -> str | None:
    """The value a record holds in ``key_field`` (a custom field through ``custom_fields`` or
    ``custom_field_hash``); None when the record does not show the field at all."""
    if not key_field.startswith(CUSTOM_FIELD_PREFIX):
        value = record.get(key_field)
        return None if value is None else str(value)
    hashed = record.get("custom_field_hash")
    if isinstance(hashed, Mapping) and key_field in hashed:
        return str(hashed[key_field] or "")
    fields = record.get("custom_fields")
    if not isinstance(fields, list):
        return None
    for field in fields:
        if isinstance(field, Mapping) and field.get("api_name") == key_field:
            return str(field.get("value") or "")
    return ""


def with_key(payload: Mapping[str, Any], key_field: str, key: str) -> dict[str, Any]:
    """The create's payload with the idempotency key where Zoho keeps it."""
    body = dict(payload)
    if not key_field.startswith(CUSTOM_FIELD_PREFIX):
        body[key_field] = key
        return body
    fields = [f for f in body.get("custom_fields") or [] if f.get("api_name") != key_field]
    body["custom_fields"] = [*fields, {"api_name": key_field, "value": key}]
    return body


def references(payload: Mapping[str, Any]) -> list[LocalKey]:
    """Every local_ref the payload names, as (entity, local_ref)."""
    found: list[LocalKey] = []
    for field, id_field in TOP_REFERENCES.items():
        if payload.get(field):
            found.append((REFERENCED_ENTITY[id_field], str(payload[field])))
    for line in payload.get("line_items") or []:
        for field, id_field in LINE_REFERENCES.items():
            if isinstance(line, Mapping) and line.get(field):
                found.append((REFERENCED_ENTITY[id_field], str(line[field])))
    return found


def resolve(payload: Mapping[str, Any], zoho_ids: Mapping[LocalKey, str]) -> dict[str, Any]:
    """The payload with every local_ref replaced by its Zoho id (Zoho's field names only)."""

    def swap(part: Mapping[str, Any], table: Mapping[str, str]) -> dict[str, Any]:
        out = {k: v for k, v in part.items() if k not in table}
        for field, id_field in table.items():
            if part.get(field):
                key = (REFERENCED_ENTITY[id_field], str(part[field]))
                if key not in zoho_ids:
                    raise UnresolvedReferenceError(key)
                out[id_field] = zoho_ids[key]
        return out

    body = swap(payload, TOP_REFERENCES)
    if isinstance(payload.get("line_items"), list):
        body["line_items"] = [
            swap(line, LINE_REFERENCES) if isinstance(line, Mapping) else line
            for line in payload["line_items"]
        ]
    return body


def already_applied(payload: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether Zoho's record already holds the update's plain fields (an update whose answer
    was lost, then found applied): every scalar the payload sets is equal in the record."""
    scalars = {k: v for k, v in payload.items() if isinstance(v, str | int | float | bool)}
    if not scalars:
        return False
    return all(record.get(k) == v for k, v in scalars.items())


@dataclass(frozen=True)
class ZohoRejection:
    """Zoho refused the write (validation, or the record does not exist)."""

    http_status: int
    code: int | None
    message: str

    @property
    def not_found(self) -> bool:
        return self.code == 1002

    def describe(self) -> str:
        return f"Zoho code {self.code}: {self.message}"
