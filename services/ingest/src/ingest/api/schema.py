"""What the OpenAPI document says about the webhook endpoint (it does not drive validation).

The request body, the header and query parameters (with the org id pattern and the
``X-TDS-Event`` values) are documented here for clients and for the schemathesis run; the
handler reads and checks them itself, after the token, so an unauthenticated caller never sees
FastAPI's validation details.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel

from ingest.payload import FORM_JSON_FIELD, ID_PATTERN
from tds_common.catalogue import WEBHOOK_ENTITIES, get_entity
from tds_common.identifiers import ORG_ID_PATTERN


class ErrorBody(BaseModel):
    error_code: str
    message: str
    errors: list[dict[str, str]] | None = None


ZOHO_TIMESTAMP_PATTERN: Final = (
    r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"[+-](0[0-9]|1[0-4])[0-5][0-9]$"
)


def record_schema(id_field: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            id_field: {"type": "string", "pattern": ID_PATTERN},
            "last_modified_time": {"type": "string", "pattern": ZOHO_TIMESTAMP_PATTERN},
        },
        "required": [id_field, "last_modified_time"],
        "additionalProperties": True,
    }


RECORD_SCHEMA: Final = {
    "type": "object",
    "description": "The record wrapped under the entity's Zoho module key ("
    + ", ".join(f'{name}: "{get_entity(name).module_key}"' for name in WEBHOOK_ENTITIES)
    + "); a bare record carrying its id field is tolerated. Every field besides the id and "
    "last_modified_time is kept as received.",
    "properties": {
        get_entity(name).module_key: record_schema(get_entity(name).id_field)
        for name in WEBHOOK_ENTITIES
    },
    "minProperties": 1,
    "additionalProperties": True,
}
OPENAPI_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": RECORD_SCHEMA},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {FORM_JSON_FIELD: {"type": "string"}},
                    "required": [FORM_JSON_FIELD],
                }
            },
        },
    }
}
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "malformed body or bad org/op parameter",
        401: "missing or wrong token or signature",
        404: "unknown entity",
        413: "body too large",
        415: "unsupported Content-Type",
        422: "not a usable record (missing id or last_modified_time)",
        503: "Kafka could not take the event now; retry after Retry-After seconds",
    }.items()
}


ORG_SCHEMA: Final = {"pattern": ORG_ID_PATTERN}


def optional_text(name: str, where: str, **schema: Any) -> dict[str, Any]:
    """An optional text parameter as FastAPI would document ``str | None`` in ``where``."""
    title = "-".join(part.capitalize() for part in name.split("-")) if where == "header" else None
    return {
        "name": name,
        "in": where,
        "required": False,
        "schema": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "title": title or name.replace("_", " ").title(),
            **schema,
        },
    }
