"""Record changes: create, edit, delete and stock movements, each with its webhook.

Every change stamps ``last_modified_time`` with the simulator's clock in the org's offset,
always at least one second after the previous value, so incremental syncs see it; unless
``same_second_edits`` is set (an edit then keeps the clock's second, which the previous edit may
share, as Zoho's one-second resolution allows) or an edit asks ``?same_second=true`` (it keeps
the record's current ``last_modified_time``: a second edit within the same second, whatever the
wall clock says). The webhook (if configured for that event) is delivered before the call
returns, unless ``?wait=false``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import AliasChoices, BaseModel, Field

from zoho_sim.control.deps import StateDep, get_org, get_spec
from zoho_sim.entities import SPECS, EntitySpec
from zoho_sim.generate import Record, align_inventory_fields, apply_stock_totals
from zoho_sim.routes.views import shape
from zoho_sim.state import Org, SimState
from zoho_sim.timefmt import to_epoch

router = APIRouter()
_background: set[asyncio.Task[Any]] = set()


def _stamp(
    state: SimState, org: Org, record: Record, *, created: bool, same_second: bool = False
) -> None:
    now = int(state.clock.wall())
    previous = record.get("last_modified_time")
    if isinstance(previous, str) and previous:
        before = int(to_epoch(previous))
        if same_second:
            return  # another edit within the second the record already carries
        step = 0 if state.settings.same_second_edits else 1
        now = max(now, before + step)
    stamp = org.ctx.ts(now)
    record["last_modified_time"] = stamp
    if created:
        record["created_time"] = stamp


async def _notify(
    state: SimState,
    org: Org,
    spec: EntitySpec,
    event: str,
    record: Record,
    wait: bool,
    entity: str | None = None,
) -> dict[str, Any] | None:
    """Deliver the webhook for a change: the Books detail shape, or the Inventory item detail
    (with ``warehouses[]``) for stock events."""
    name = entity or spec.tds_name
    if name == "warehouses":
        return None
    product = "inventory" if name == "stock" else "books"
    payload = shape(spec, record, product, detail=True, stock_layout=org.settings.stock_layout)
    delivery = state.webhooks.deliver(
        org_id=org.settings.organization_id,
        entity=name,
        event=event,
        key=spec.detail_key,
        record=payload,
        record_id=str(record[spec.id_field]),
    )
    if wait:
        return await delivery
    task = asyncio.create_task(delivery)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return {"scheduled": True}


def _index(record_id: str) -> int:
    """The generation index inside a simulator id (seeds the stock rows of a new item)."""
    return int(record_id[-12:]) if record_id.isdigit() else 0


def _check_fields(spec: EntitySpec, fields: dict[str, Any]) -> None:
    if spec.id_field in fields:
        raise HTTPException(422, f"{spec.id_field} is assigned by the simulator")
    for key in ("created_time", "last_modified_time"):
        if key in fields:
            raise HTTPException(422, f"{key} is stamped by the simulator")


def _record(org: Org, spec: EntitySpec, record_id: str) -> Record:
    record = org.tables[spec.path].get(record_id)
    if record is None:
        raise HTTPException(404, f"{spec.label} {record_id} does not exist in this org")
    return record


class StockMovement(BaseModel):
    model_config = {"extra": "forbid"}

    item_id: str
    warehouse_id: str = Field(validation_alias=AliasChoices("warehouse_id", "location_id"))
    delta: int | None = None
    """Added to on-hand and available stock (negative for outflow)."""
    quantity: int | None = None
    """Or: the new on-hand quantity."""
    kind: Literal["adjustment", "receive", "shipment", "transfer"] = "adjustment"


@router.post("/orgs/{org_id}/stock")
async def stock(
    state: StateDep,
    org_id: str,
    movement: StockMovement,
    wait: bool = True,
    same_second: bool = False,
) -> dict[str, Any]:
    """Move stock of a tracked item in one warehouse; webhook entity ``stock``.
    ``same_second``: the movement happens within the second the item already carries."""
    if (movement.delta is None) == (movement.quantity is None):
        raise HTTPException(422, "give exactly one of delta or quantity")
    org, spec = get_org(state, org_id), SPECS["items"]
    record = _record(org, spec, movement.item_id)
    if not record.get("track_inventory"):
        raise HTTPException(422, f"item {movement.item_id} does not track inventory")
    row = next(
        (r for r in record["warehouses"] if r["warehouse_id"] == movement.warehouse_id), None
    )
    if row is None:
        raise HTTPException(404, f"warehouse {movement.warehouse_id} not stocked for this item")
    before = int(row["warehouse_stock_on_hand"])
    after = before + movement.delta if movement.delta is not None else int(movement.quantity or 0)
    change = after - before
    committed = int(row["warehouse_committed_stock"])
    for key in (
        "warehouse_stock_on_hand",
        "warehouse_available_stock",
        "warehouse_actual_available_stock",
    ):
        row[key] = int(row[key]) + change
    for key in ("warehouse_available_for_sale_stock", "warehouse_actual_available_for_sale_stock"):
        row[key] = after - committed
    apply_stock_totals(record)
    if state.settings.stock_bumps_item_last_modified:
        _stamp(state, org, record, created=False, same_second=same_second)
    org.tables["items"].put(record)
    webhook = await _notify(state, org, spec, "edit", record, wait, entity="stock")
    return {"record": record, "webhook": webhook}


@router.get("/orgs/{org_id}/{entity}/{record_id}")
async def read(state: StateDep, org_id: str, entity: str, record_id: str) -> Record:
    """The stored record in full (items with ``warehouses[]`` whatever the stock layout)."""
    spec = get_spec(entity)
    return _record(get_org(state, org_id), spec, record_id)


@router.post("/orgs/{org_id}/{entity}", status_code=201)
async def create(
    state: StateDep, org_id: str, entity: str, fields: dict[str, Any], wait: bool = True
) -> dict[str, Any]:
    """Create a record: a generated one with the given fields on top."""
    org, spec = get_org(state, org_id), get_spec(entity)
    _check_fields(spec, fields)
    table = org.tables[spec.path]
    record = table.new_record()
    record.update(fields)
    if spec.path == "items":
        align_inventory_fields(org.ctx, record, _index(str(record["item_id"])))
    _stamp(state, org, record, created=True)
    table.put(record)
    return {"record": record, "webhook": await _notify(state, org, spec, "create", record, wait)}


@router.patch("/orgs/{org_id}/{entity}/{record_id}")
async def edit(
    state: StateDep,
    org_id: str,
    entity: str,
    record_id: str,
    fields: dict[str, Any],
    wait: bool = True,
    same_second: bool = False,
) -> dict[str, Any]:
    """Edit a record (fields replaced as given) and bump its last_modified_time.
    ``same_second``: the edit happens within the second the record already carries (it keeps
    its ``last_modified_time``), as a second edit in one second does in Zoho."""
    org, spec = get_org(state, org_id), get_spec(entity)
    _check_fields(spec, fields)
    record = _record(org, spec, record_id)
    record.update(fields)
    if spec.path == "items" and {"warehouses", "track_inventory"} & set(fields):
        align_inventory_fields(org.ctx, record, _index(record_id))
    _stamp(state, org, record, created=False, same_second=same_second)
    org.tables[spec.path].put(record)
    return {"record": record, "webhook": await _notify(state, org, spec, "edit", record, wait)}


class BulkEdit(BaseModel):
    model_config = {"extra": "forbid"}

    ids: list[str] = Field(min_length=1, max_length=10_000)
    fields: dict[str, Any] = Field(default_factory=dict)
    """Set on every record, as in a single edit."""


@router.patch("/orgs/{org_id}/{entity}")
async def edit_many(
    state: StateDep, org_id: str, entity: str, body: BulkEdit, wait: bool = True
) -> dict[str, Any]:
    """Edit many records at once, as a Zoho bulk update or import does: they all get ONE
    ``last_modified_time`` (a second later than the newest of their previous ones), which is
    how more records than fit on a page come to share a second. All or nothing: an unknown id
    is a 404 and nothing changes."""
    org, spec = get_org(state, org_id), get_spec(entity)
    _check_fields(spec, body.fields)
    records = [_record(org, spec, record_id) for record_id in dict.fromkeys(body.ids)]
    now = int(state.clock.wall())
    for record in records:
        previous = record.get("last_modified_time")
        if isinstance(previous, str) and previous:
            now = max(now, int(to_epoch(previous)) + 1)
    stamp = org.ctx.ts(now)
    for record in records:
        record.update(body.fields)
        record["last_modified_time"] = stamp
        org.tables[spec.path].put(record)
    for record in records:
        await _notify(state, org, spec, "edit", record, wait)
    return {"last_modified_time": stamp, "count": len(records)}


@router.delete("/orgs/{org_id}/{entity}/{record_id}")
async def delete(
    state: StateDep, org_id: str, entity: str, record_id: str, wait: bool = True
) -> dict[str, Any]:
    """Delete a record; the webhook (event ``delete``, off by default) carries its last state."""
    org, spec = get_org(state, org_id), get_spec(entity)
    record = _record(org, spec, record_id)
    org.tables[spec.path].delete(record_id)
    return {"record": record, "webhook": await _notify(state, org, spec, "delete", record, wait)}
