"""Table: lazy seeded records, copy-on-write changes, sorted and filtered views."""

from __future__ import annotations

from zoho_sim.entities import SPECS
from zoho_sim.generate import OrgContext
from zoho_sim.store import Table
from zoho_sim.timefmt import parse_offset, to_epoch

CTX = OrgContext(
    org_id="60000000001",
    org_position=1,
    seed=42,
    tz=parse_offset("-0400"),
    currency_code="USD",
    scale=(("contacts", 40), ("items", 40), ("warehouses", 3)),
)


def _table() -> Table:
    return Table(SPECS["contacts"], CTX, 40)


def _query(table: Table, **overrides: object) -> list[str]:
    args: dict[str, object] = {
        "column": "last_modified_time",
        "descending": False,
        "modified_since": None,
        "inclusive": True,
        "filter_by": "Status.All",
    }
    args.update(overrides)
    return table.query(**args)  # type: ignore[arg-type]


def test_changes_are_copy_on_write_and_counted() -> None:
    table = _table()
    first = _query(table)[0]
    record = table.get(first)
    assert record is not None
    record["contact_name"] = "Not stored"
    assert table.get(first) != record, "get returns copies"
    created = table.new_record()
    table.put(created)
    table.delete(first)
    assert len(table) == 40
    assert table.get(first) is None
    ids = _query(table)
    assert first not in ids and created["contact_id"] in ids and len(ids) == 40
    assert Table(SPECS["contacts"], CTX, 40).get(first) is not None, "a new table is pristine"


def test_views_sort_by_time_and_name_both_ways() -> None:
    table = _table()
    ids = _query(table)
    stamps = [to_epoch(table.get(i)["last_modified_time"]) for i in ids]  # type: ignore[index]
    assert stamps == sorted(stamps)
    names = [table.get(i)["contact_name"] for i in _query(table, column="contact_name")]  # type: ignore[index]
    assert names == sorted(names)
    assert _query(table, descending=True) == list(reversed(ids))


def test_modified_filter_on_another_sort_column_and_after_edits() -> None:
    table = _table()
    ids = _query(table)
    pivot = table.get(ids[30])
    assert pivot is not None
    since = to_epoch(pivot["last_modified_time"])
    by_name = _query(table, column="contact_name", modified_since=since)
    assert sorted(by_name) == sorted(ids[30:])
    newest = table.get(ids[-1])
    edited = table.get(ids[0])
    assert edited is not None and newest is not None
    edited["last_modified_time"] = CTX.ts(to_epoch(newest["last_modified_time"]) + 10)
    table.put(edited)
    assert ids[0] in _query(table, modified_since=since)
    assert _query(table, modified_since=since, inclusive=False)[-1] == ids[0]


def test_status_filter_uses_changed_records() -> None:
    table = _table()
    vendors = _query(table, filter_by="Status.Vendors")
    assert vendors and all(table.get(i)["contact_type"] == "vendor" for i in vendors)  # type: ignore[index]
    customer = next(i for i in _query(table) if i not in vendors)
    record = table.get(customer)
    assert record is not None
    record["contact_type"] = "vendor"
    table.put(record)
    assert customer in _query(table, filter_by="Status.Vendors")
