"""POST/PUT/DELETE on Books modules, and the list search a client finds its own creates with.

Called by :mod:`zoho_sim.routes.zoho` after the gate (token, URL, scope, organization, budget),
so writes count in the budget like reads. The request body is Zoho's: the record's fields as
JSON, or the same JSON in a ``JSONString`` form field (or query parameter). A write applied and
then failed by ``/_sim/write-faults`` still fires its webhook: Zoho applied it, only the answer
was lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qs

from fastapi import Request

from zoho_sim import writes
from zoho_sim.control.records import _notify, _stamp
from zoho_sim.entities import EntitySpec
from zoho_sim.errors import ZohoError
from zoho_sim.routes import views
from zoho_sim.state import Org, SimState
from zoho_sim.write_rules import WriteSettings

WRITE_METHODS: Final = frozenset({"POST", "PUT", "DELETE"})
FORM_MEDIA_TYPE: Final = "application/x-www-form-urlencoded"


def accepts(method: str, kind: str, spec: EntitySpec | None) -> bool:
    """Whether this method on this route is a write the simulator serves."""
    if spec is None or spec.path not in writes.WRITABLE:
        return False
    return (method == "POST" and kind == "list") or (
        method in {"PUT", "DELETE"} and kind == "detail"
    )


async def _fields(request: Request, rules: WriteSettings) -> dict[str, Any]:
    """The record's fields: a JSON body, or JSON in ``JSONString`` (form field or query)."""
    raw = await request.body()
    text: str | None = request.query_params.get("JSONString")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if text is None and media_type == FORM_MEDIA_TYPE:
        values = parse_qs(raw.decode(errors="replace")).get("JSONString")
        text = values[0] if values else None
    elif text is None:
        text = raw.decode(errors="replace")
    try:
        fields = json.loads(text or "")
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise ZohoError(400, rules.invalid_value_code, "Invalid value passed for JSONString")
    return fields


def search_field(state: SimState, params: Mapping[str, str]) -> tuple[str, str] | None:
    """The searchable parameter of a list call, if it has one."""
    for field in state.writes.settings.searchable_fields:
        value = params.get(field)
        if value:
            return field, value
    return None


def search_body(
    state: SimState, org: Org, spec: EntitySpec, product: str, field: str, value: str
) -> dict[str, Any]:
    """A one-page list of the records whose ``field`` is ``value``."""
    found = state.writes.search(org, spec, field, value)
    records = [views.shape(spec, record, product, detail=False) for record in found]
    context = {"page": 1, "per_page": 200, "has_more_page": False}
    return {spec.list_key: records, "page_context": context}


async def apply(
    state: SimState, request: Request, product: str, spec: EntitySpec, org: Org, record_id: str
) -> tuple[dict[str, Any], int]:
    """Apply one write; Zoho's answer body and HTTP status."""
    sim_writes = state.writes
    label = spec.label.lower()
    if request.method == "DELETE":
        record = writes.existing(org, spec, record_id)
        org.tables[spec.path].delete(record_id)
        sim_writes.count("DELETE", spec)
        await _notify(state, org, spec, "delete", record, wait=True)
        await sim_writes.answer_or_fail()
        return {"message": f"The {label} has been deleted."}, 200
    fields = await _fields(request, sim_writes.settings)
    if request.method == "POST":
        record = writes.create(sim_writes, org, spec, fields)
        event, status, message = "create", 201, f"The {label} has been created."
    else:
        record = writes.update(sim_writes, org, spec, record_id, fields)
        event, status, message = "edit", 200, f"{spec.label} information has been updated."
    _stamp(state, org, record, created=event == "create")
    org.tables[spec.path].put(record)
    sim_writes.remember(org, spec, record)
    sim_writes.count(request.method, spec)
    await _notify(state, org, spec, event, record, wait=True)
    await sim_writes.answer_or_fail()
    shaped = views.shape(spec, record, product, detail=True, stock_layout=org.settings.stock_layout)
    return {"message": message, spec.detail_key: shaped}, status
