"""Zoho edits reach the mirror through webhook → ingest → Kafka → processor, exactly."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import httpx
import psycopg
import pytest

from devstack.demo import EDITABLE
from tds_common.events import parse_zoho_timestamp
from tests.e2e.conftest import ORG_ID, Stack

T = TypeVar("T")
ROW_WAIT_SECONDS = 30.0


# The shared stack (five services and Jaeger) may start within this module's first test.
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module", name="stack")
def fixture_stack(shared_stack: Stack) -> Stack:
    """The e2e modules' shared stack: every test here works on records of its own."""
    return shared_stack


def _eventually(probe: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + ROW_WAIT_SECONDS
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _row(url: str, table: str, id_column: str, zoho_id: str, stamp: str) -> dict[str, Any] | None:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            f"SELECT * FROM {table} WHERE org_id = %s AND {id_column} = %s"
            " AND zoho_last_modified_time >= %s",
            (ORG_ID, zoho_id, parse_zoho_timestamp(stamp)),
        )
        return cur.fetchone()


def test_every_entity_created_then_edited_lands_with_the_latest_values(stack: Stack) -> None:
    sim = httpx.Client(base_url=f"{stack.sim.url}/_sim/orgs/{ORG_ID}", timeout=30)
    for e in EDITABLE:  # every record entity with webhooks, from the catalogue
        created = sim.post(f"/{e.sim_entity}", json={}).json()["record"]
        zoho_id = created[e.id_column]
        value = f"e2e {e.entity}"
        edited = sim.patch(f"/{e.sim_entity}/{zoho_id}", json={e.edit_field: value}).json()
        stamp = edited["record"]["last_modified_time"]
        row = _eventually(
            partial(_row, stack.database_url, e.table, e.id_column, zoho_id, stamp),
            f"{e.entity} {zoho_id}",
        )
        assert row[e.edit_field] == value, e.entity
        assert row["source"] == "webhook"
        assert row["deleted_at"] is None
        assert row["raw"][e.id_column] == zoho_id


def test_invoice_line_items_and_totals_match_zoho(stack: Stack) -> None:
    sim = httpx.Client(base_url=f"{stack.sim.url}/_sim/orgs/{ORG_ID}", timeout=30)
    invoice = sim.post("/invoices", json={}).json()["record"]
    row = _eventually(
        lambda: _row(
            stack.database_url,
            "zoho.invoices",
            "invoice_id",
            invoice["invoice_id"],
            invoice["last_modified_time"],
        ),
        "invoice",
    )
    assert row["total"] == Decimal(str(invoice["total"]))
    with psycopg.connect(stack.database_url) as conn:
        lines = conn.execute(
            "SELECT line_item_id, quantity FROM zoho.invoice_line_items"
            " WHERE org_id = %s AND invoice_id = %s ORDER BY line_item_id",
            (ORG_ID, invoice["invoice_id"]),
        ).fetchall()
    expected = sorted(
        (li["line_item_id"], Decimal(str(li["quantity"]))) for li in invoice["line_items"]
    )
    assert lines == expected


def test_a_deleted_record_is_soft_deleted(stack: Stack) -> None:
    sim = httpx.Client(base_url=f"{stack.sim.url}/_sim/orgs/{ORG_ID}", timeout=30)
    bill = sim.post("/bills", json={}).json()["record"]
    _eventually(
        lambda: _row(
            stack.database_url, "zoho.bills", "bill_id", bill["bill_id"], bill["last_modified_time"]
        ),
        "bill",
    )
    sim.delete(f"/bills/{bill['bill_id']}").raise_for_status()

    def deleted() -> bool | None:
        with psycopg.connect(stack.database_url) as conn:
            found = conn.execute(
                "SELECT deleted_at IS NOT NULL FROM zoho.bills WHERE org_id = %s AND bill_id = %s",
                (ORG_ID, bill["bill_id"]),
            ).fetchone()
        return True if found and found[0] else None

    assert _eventually(deleted, "soft delete")


def test_a_stock_movement_updates_the_warehouse_level(stack: Stack) -> None:
    sim = httpx.Client(base_url=f"{stack.sim.url}/_sim/orgs/{ORG_ID}", timeout=30)
    item = sim.post("/items", json={"track_inventory": True}).json()["record"]
    warehouse = item["warehouses"][0]["warehouse_id"]
    moved = sim.post(
        "/stock", json={"item_id": item["item_id"], "warehouse_id": warehouse, "quantity": 42}
    )
    moved.raise_for_status()

    def level() -> Decimal | None:
        with psycopg.connect(stack.database_url) as conn:
            found = conn.execute(
                "SELECT stock_on_hand FROM zoho.stock_levels"
                " WHERE org_id = %s AND item_id = %s AND warehouse_id = %s",
                (ORG_ID, item["item_id"], warehouse),
            ).fetchone()
        return found[0] if found and found[0] == Decimal(42) else None

    assert _eventually(level, "stock level 42") == Decimal(42)


def test_bad_webhooks_are_rejected_and_change_nothing(stack: Stack) -> None:
    url = f"{stack.ingest.url}/api/zoho/webhooks/invoices"
    assert httpx.post(url, json={"invoice": {}}).status_code == 401
    assert (
        httpx.post(url, json={"invoice": {}}, headers={"X-TDS-Webhook-Token": "wrong"}).status_code
        == 401
    )
    unknown = httpx.post(
        f"{stack.ingest.url}/api/zoho/webhooks/unicorns",
        json={},
        headers={"X-TDS-Webhook-Token": "e2e-webhook-secret-0123456789"},
    )
    assert unknown.status_code == 404
