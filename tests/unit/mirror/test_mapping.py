"""Records to rows without a database: columns, children, stock, thin records, in-batch order."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tds_common.catalogue import ENTITIES, get_entity
from tds_common.mirror import (
    MappingError,
    is_thin,
    map_change,
    reduce_batch,
    supersedes,
    with_raw_in_inbox,
)
from tds_common.mirror.sql import child_statements, parent_statements, stock_statements
from tests.unit.mirror import factories as f


def test_invoice_maps_to_parent_and_line_item_rows() -> None:
    mapped = map_change(f.change("invoices", "9001", f.invoice("9001", lines=2)))
    assert mapped.row["invoice_id"] == "9001" and mapped.row["org_id"] == f.ORG
    assert mapped.row["total"] == "100" and mapped.row["date"] == "2026-06-09"
    assert mapped.row["salesperson_name"] is None and mapped.row["source"] == "webhook"
    assert mapped.row["zoho_last_modified_time"] == "2026-06-09T09:45:21-04:00"
    assert mapped.row["raw"]["billing_address"]["city"] == "Pleasanton"
    assert mapped.children is not None and len(mapped.children) == 2
    line = mapped.children[0]
    assert line["invoice_id"] == "9001" and line["line_item_id"] == "9001-L000"
    assert line["discount"] == "0.00" and line["item_order"] == 1 and "name" in line["raw"]


def test_repeated_child_ids_keep_the_last_and_missing_ids_are_poison() -> None:
    record = f.invoice("9002", lines=2)
    record["line_items"][1]["line_item_id"] = record["line_items"][0]["line_item_id"]
    children = map_change(f.change("invoices", "9002", record)).children
    assert children is not None and [c["name"] for c in children] == ["Line 1"]
    record["line_items"][0]["line_item_id"] = ""
    with pytest.raises(MappingError, match="line_item_id"):
        map_change(f.change("invoices", "9002", record))


def test_a_record_without_its_child_list_leaves_children_alone() -> None:
    record = f.price_list("77")
    del record["pricebook_items"]
    assert map_change(f.change("prices", "77", record)).children is None


@pytest.mark.parametrize("locations", [False, True])
def test_stock_rows_come_from_warehouses_or_locations(locations: bool) -> None:
    mapped = map_change(f.change("stock", "55", f.stock("55", warehouses=2, locations=locations)))
    assert mapped.children is not None
    assert [r["warehouse_id"] for r in mapped.children] == [
        "260815000000070000",
        "260815000000070001",
    ]
    row = mapped.children[0]
    assert row["item_id"] == "55" and row["stock_on_hand"] == "5.000"
    assert row["warehouse_name"] == "Warehouse 0" and row["available_for_sale_stock"] is None


def test_bad_values_and_mismatched_ids_are_poison() -> None:
    with pytest.raises(MappingError, match="total"):
        map_change(f.change("invoices", "1", f.invoice("1", total="lots")))
    with pytest.raises(MappingError, match="does not match"):
        map_change(f.change("customers", "1", f.customer("2")))
    with pytest.raises(MappingError, match="unknown entity"):
        map_change(f.change("salesorders", "1", {}))
    with pytest.raises(MappingError, match="last_modified_time"):
        map_change(f.change("bills", "1", f.bill("1", last_modified_time="soon")))


def test_deletes_carry_only_key_version_and_raw() -> None:
    mapped = map_change(f.change("bills", "5", {"bill_id": "5"}, op="delete"))
    assert mapped.deleted and mapped.children is None and mapped.modified is None
    assert "bill_number" not in mapped.row


def test_thin_records_are_recognised() -> None:
    stamp = datetime(2026, 6, 9, tzinfo=UTC)
    assert is_thin(get_entity("stock"), {"item_id": "1"}, stamp)
    assert not is_thin(get_entity("stock"), f.stock("1"), stamp)
    assert is_thin(get_entity("products"), f.product("1"), None)  # no version
    invoice = f.invoice("1")
    del invoice["line_items"]
    assert is_thin(get_entity("invoices"), invoice, stamp)
    assert not is_thin(get_entity("warehouses"), f.warehouse("1"), None)  # unversioned entity


def test_the_newest_version_in_a_batch_wins_and_deletes_win_ties() -> None:
    versions = [map_change(f.change("products", "1", f.product("1", version=v))) for v in (3, 9, 5)]
    assert reduce_batch(versions) == {("products", f.ORG, "1"): 1}
    delete = map_change(f.change("products", "1", {"last_modified_time": f.stamp(9)}, op="delete"))
    assert supersedes(delete, versions[1]) and not supersedes(versions[1], delete)


def test_statements_exist_for_every_table() -> None:
    for spec in ENTITIES.values():
        if spec.kind == "stock":
            assert "pg_advisory_xact_lock" in stock_statements(spec).lock
            continue
        statements = parent_statements(spec)
        assert "excluded.zoho_last_modified_time >= t.zoho_last_modified_time" in statements.delete
        assert f"ON CONFLICT (org_id, {spec.id_field})" in statements.upsert
        if spec.child:
            children = child_statements(spec, spec.child)
            assert spec.child.table in children.clear
            assert {"org_id", spec.id_field, spec.child.key_column, "raw"} <= set(children.columns)


def test_an_upsert_reading_raw_from_the_inbox_sends_the_row_without_it() -> None:
    """Issue 18: PostgreSQL parses a pushed record once, for the inbox, not again for the row."""
    mapped = map_change(f.change("invoices", "460000000012345", f.invoice("460000000012345")))
    referring = with_raw_in_inbox(mapped, "org:invoices:460000000012345:stamp:upsert:digest")
    sent = json.loads(referring.upsert_json)
    assert "raw" not in sent
    assert sent["raw_in_inbox"] == "org:invoices:460000000012345:stamp:upsert:digest"
    assert sent == {k: v for k, v in json.loads(mapped.row_json).items() if k != "raw"} | {
        "raw_in_inbox": referring.raw_in_inbox
    }
    # The full row still serves the statements that compare content (conflicts, deletes).
    assert json.loads(referring.row_json)["raw"] == mapped.row["raw"]
    assert json.loads(with_raw_in_inbox(referring, None).upsert_json) == json.loads(mapped.row_json)


def test_a_delete_never_reads_raw_from_the_inbox() -> None:
    mapped = map_change(f.change("invoices", "1", {}, op="delete"))
    assert with_raw_in_inbox(mapped, "key") is mapped
    assert mapped.upsert_json == mapped.row_json
