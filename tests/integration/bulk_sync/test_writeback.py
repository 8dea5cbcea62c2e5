"""Write-back on the real stack (simulator, zoho-proxy, PostgreSQL, bulk-sync with its relay):
the ERP's writes reach Zoho once, in order, without clobbering, and land in the mirror."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from bulk_sync.writeback.metrics import OLDEST_PENDING, WRITES
from tds_common.echo import ECHOES, echoes
from tds_common.errors import ConfigurationError
from tds_common.mirror import Change
from tests.utils.polling import wait_until

from .conftest import MakeBulk
from .helpers import BulkSync, Zoho
from .writeback import fast_relay, outcomes, submit, write

WEBHOOK_SINK = "http://127.0.0.1:9/api/zoho/webhooks/{entity}"
"""Nothing listens: the simulator records each delivery with its body, which the tests read."""


@pytest.fixture(name="relay")
async def fixture_relay(make_bulk: MakeBulk, monkeypatch: pytest.MonkeyPatch) -> Any:
    fast_relay(monkeypatch)
    async with make_bulk() as bulk:
        yield bulk


async def first_item(zoho: Zoho, org: str) -> str:
    return next(iter(await zoho.index(org, "products")))


async def sim_writes(zoho: Zoho) -> dict[str, int]:
    """Writes the simulator applied, per ``<METHOD> <module>`` (the module's tests share it)."""
    result: dict[str, int] = await zoho.sim("GET", "/_sim/writes")
    return result


async def applied_since(zoho: Zoho, before: dict[str, int]) -> dict[str, int]:
    now = await sim_writes(zoho)
    return {k: n - before.get(k, 0) for k, n in now.items() if n != before.get(k, 0)}


async def test_an_invoice_for_an_erp_customer_reaches_zoho_and_the_mirror_and_its_echo_is_inert(
    relay: BulkSync, zoho: Zoho, org: str, db_pool: asyncpg.Pool
) -> None:
    before = await sim_writes(zoho)
    await zoho.sim("PUT", "/_sim/webhooks", {"url_template": WEBHOOK_SINK})
    item = await first_item(zoho, org)
    customer = write(
        "customers",
        "create",
        "erp-cust-1",
        {"contact_name": "ERP Customer One", "contact_type": "customer"},
    )
    invoice = write(
        "invoices",
        "create",
        "erp-inv-1",
        {
            "customer_local_ref": "erp-cust-1",
            "date": "2026-06-09",
            "line_items": [
                {"item_id": item, "quantity": 2, "rate": 7.5},
                {"name": "Installation", "rate": 30},
            ],
        },
    )
    rows = await outcomes(relay.api, await submit(relay.api, customer, invoice))
    assert [row["status"] for row in rows] == ["applied", "applied"], rows
    customer_id, invoice_id = rows[0]["zoho_id"], rows[1]["zoho_id"]

    in_zoho = await zoho.record(org, "invoices", invoice_id)
    assert in_zoho["customer_id"] == customer_id
    assert in_zoho["customer_name"] == "ERP Customer One"
    assert [(line["item_id"], line["quantity"]) for line in in_zoho["line_items"]] == [
        (item, 2),
        ("", 1),
    ]
    assert in_zoho["reference_number"] == invoice["idempotency_key"]

    mirrored = await db_pool.fetchrow(
        "SELECT * FROM zoho.invoices WHERE org_id = $1 AND invoice_id = $2", org, invoice_id
    )
    assert mirrored is not None and mirrored["source"] == "tds-write"
    lines = await db_pool.fetch(
        "SELECT line_item_id FROM zoho.invoice_line_items WHERE org_id = $1 AND invoice_id = $2",
        org,
        invoice_id,
    )
    assert {r["line_item_id"] for r in lines} == {x["line_item_id"] for x in in_zoho["line_items"]}
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM zoho.customers WHERE org_id = $1 AND contact_id = $2",
            org,
            customer_id,
        )
        == 1
    )

    # Zoho's webhook for our own create is recognised as an echo (the processor skips it).
    deliveries = await zoho.sim("GET", "/_sim/webhooks/deliveries")
    echo = next(d for d in deliveries if d["entity"] == "invoices" and d["id"] == invoice_id)
    pushed = Change(
        "invoices",
        org,
        invoice_id,
        "upsert",
        echo["body"]["invoice"],
        "webhook",
        observed_at=datetime.now(UTC),
    )
    echoes_before = ECHOES.labels("invoices")._value.get()
    async with db_pool.acquire() as conn:
        assert await echoes(conn, [pushed]) == {0}
    assert ECHOES.labels("invoices")._value.get() == echoes_before + 1
    assert await applied_since(zoho, before) == {"POST contacts": 1, "POST invoices": 1}


async def test_a_later_edit_in_zoho_is_not_an_echo(
    relay: BulkSync, zoho: Zoho, org: str, db_pool: asyncpg.Pool
) -> None:
    created = write("customers", "create", "erp-cust-2", {"contact_name": "Two"})
    rows = await outcomes(relay.api, await submit(relay.api, created))
    zoho_id = rows[0]["zoho_id"]
    edited = await zoho.edit(org, "customers", zoho_id, {"contact_name": "Two bis"})
    ours = Change("customers", org, zoho_id, "upsert", rows[0]["result"], "webhook")
    theirs = Change("customers", org, zoho_id, "upsert", edited, "webhook")
    async with db_pool.acquire() as conn:
        assert await echoes(conn, [theirs, ours]) == {1}


async def test_zoho_validation_errors_end_rejected_with_code_and_message(
    relay: BulkSync, zoho: Zoho, org: str
) -> None:
    before = await sim_writes(zoho)
    bad = write(
        "invoices",
        "create",
        "erp-inv-bad",
        {"customer_id": "123", "line_items": [{"name": "x", "rate": 1}]},
    )
    unknown_ref = write(
        "invoices",
        "create",
        "erp-inv-nocust",
        {"customer_local_ref": "never-created", "line_items": [{"name": "x", "rate": 1}]},
    )
    rows = await outcomes(relay.api, await submit(relay.api, bad, unknown_ref))
    assert rows[0]["status"] == "rejected"
    assert rows[0]["result"]["code"] == 2
    assert rows[0]["error"] == "Zoho code 2: Invalid value passed for customer_id"
    assert rows[1]["status"] == "rejected"
    assert "never-created" in rows[1]["error"]
    assert await applied_since(zoho, before) == {}


async def test_create_update_delete_of_one_local_ref_apply_in_order(
    relay: BulkSync, zoho: Zoho, org: str, db_pool: asyncpg.Pool
) -> None:
    before = await sim_writes(zoho)
    ids = await submit(
        relay.api,
        write("products", "create", "erp-item-1", {"name": "Widget", "rate": 3}),
        write("products", "update", "erp-item-1", {"name": "Widget v2", "rate": 4}),
        write("products", "delete", "erp-item-1"),
    )
    rows = await outcomes(relay.api, ids)
    assert [row["status"] for row in rows] == ["applied"] * 3, rows
    zoho_id = rows[0]["zoho_id"]
    assert rows[1]["zoho_id"] == rows[2]["zoho_id"] == zoho_id
    assert rows[1]["result"]["name"] == "Widget v2"
    assert rows[0]["applied_at"] < rows[1]["applied_at"] < rows[2]["applied_at"]
    assert await applied_since(zoho, before) == {"POST items": 1, "PUT items": 1, "DELETE items": 1}
    row = await db_pool.fetchrow(
        "SELECT deleted_at FROM zoho.products WHERE org_id = $1 AND item_id = $2", org, zoho_id
    )
    assert row is not None and row["deleted_at"] is not None


async def test_deleting_a_record_already_gone_ends_applied(
    relay: BulkSync, zoho: Zoho, org: str
) -> None:
    item = write("products", "create", "erp-item-2", {"name": "Gone", "rate": 1})
    created = await outcomes(relay.api, await submit(relay.api, item))
    await zoho.delete(org, "products", created[0]["zoho_id"])
    rows = await outcomes(
        relay.api, await submit(relay.api, write("products", "delete", "erp-item-2"))
    )
    assert rows[0]["status"] == "applied"
    assert rows[0]["error"] == "already gone in Zoho"


async def test_an_update_older_than_zoho_is_not_sent_and_ends_conflict(
    relay: BulkSync, zoho: Zoho, org: str, db_pool: asyncpg.Pool
) -> None:
    before = await sim_writes(zoho)
    customer = write("customers", "create", "erp-cust-3", {"contact_name": "Three"})
    created = await outcomes(relay.api, await submit(relay.api, customer))
    seen = created[0]["result"]["last_modified_time"]
    zoho_id = created[0]["zoho_id"]
    theirs = await zoho.edit(org, "customers", zoho_id, {"contact_name": "Three (Zoho)"})
    rows = await outcomes(
        relay.api,
        await submit(
            relay.api,
            write(
                "customers",
                "update",
                "erp-cust-3",
                {"contact_name": "Three (ERP)"},
                expected_last_modified_time=seen,
            ),
        ),
    )
    assert rows[0]["status"] == "conflict"
    assert rows[0]["result"]["contact_name"] == "Three (Zoho)"
    assert (await zoho.record(org, "customers", zoho_id))["contact_name"] == "Three (Zoho)"
    assert await applied_since(zoho, before) == {"POST contacts": 1}
    mirrored = await db_pool.fetchrow(
        "SELECT contact_name, raw FROM zoho.customers WHERE org_id = $1 AND contact_id = $2",
        org,
        zoho_id,
    )
    assert mirrored is not None and mirrored["contact_name"] == "Three (Zoho)"
    assert theirs["last_modified_time"] > seen
    # the same update, knowing Zoho's version, goes through
    rows = await outcomes(
        relay.api,
        await submit(
            relay.api,
            write(
                "customers",
                "update",
                "erp-cust-3",
                {"contact_name": "Three (ERP)"},
                expected_last_modified_time=theirs["last_modified_time"],
            ),
        ),
    )
    assert rows[0]["status"] == "applied"
    assert (await zoho.record(org, "customers", zoho_id))["contact_name"] == "Three (ERP)"


async def test_a_failed_create_is_looked_up_before_it_is_sent_again(
    relay: BulkSync, zoho: Zoho, org: str
) -> None:
    """A 5xx answer to a POST leaves its outcome unknown: the retry searches first."""
    before = await sim_writes(zoho)
    customer = write("customers", "create", "erp-cust-4", {"contact_name": "Four"})
    await zoho.sim("PUT", "/_sim/faults", {"fail_next": 1})
    try:
        rows = await outcomes(relay.api, await submit(relay.api, customer))
    finally:
        await zoho.sim("PUT", "/_sim/faults", {"fail_next": 0})
    assert (rows[0]["status"], rows[0]["attempts"]) == ("applied", 2)
    searches = [q for path, q in zoho.proxy_calls if path == "/zoho/books/contacts" and q]
    assert searches == [f"cf_tds_key={customer['idempotency_key']}"]
    assert await applied_since(zoho, before) == {"POST contacts": 1}


async def test_the_same_idempotency_key_twice_returns_the_first_write(relay: BulkSync) -> None:
    first = write("customers", "create", "erp-cust-5", {"contact_name": "Five"})
    again = {**first, "payload": {"contact_name": "Five, sent twice"}}
    ids = await submit(relay.api, first)
    assert await submit(relay.api, again) == ids
    row = (await relay.api.get(f"/api/zoho/writes/{ids[0]}")).json()
    assert row["payload"] == {"contact_name": "Five"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"zoho_id": "123"}, "a create has no zoho_id yet"),
        ({"payload": {}}, "create needs a payload"),
        (
            {
                "payload": {
                    "contact_name": "x",
                    "custom_fields": [{"api_name": "cf_tds_key", "value": "mine"}],
                }
            },
            "payload sets cf_tds_key",
        ),
        ({"entity": "warehouses"}, "entity"),
        ({"idempotency_key": "has spaces"}, "idempotency_key"),
        ({"op": "delete", "payload": {"x": 1}}, "a delete takes no payload"),
        ({"expected_last_modified_time": "2026-06-09T09:45:21-0400"}, "updates only"),
        ({"expected_last_modified_time": "yesterday", "op": "update"}, "expected_last_modified"),
    ],
)
async def test_bad_writes_are_refused_and_nothing_is_queued(
    relay: BulkSync, db_pool: asyncpg.Pool, change: dict[str, Any], message: str
) -> None:
    good = write("customers", "create", "erp-cust-6", {"contact_name": "Six"})
    bad = {**write("customers", "create", "erp-cust-7", {"contact_name": "Seven"}), **change}
    queued = await db_pool.fetchval("SELECT count(*) FROM tds_outbox")
    response = await relay.api.post("/api/zoho/writes", json=[good, bad])
    assert response.status_code == 422, response.text
    assert message in response.text
    assert await db_pool.fetchval("SELECT count(*) FROM tds_outbox") == queued


async def test_an_unknown_write_is_404(relay: BulkSync) -> None:
    response = await relay.api.get("/api/zoho/writes/999999999")
    assert response.status_code == 404
    assert response.json()["error_code"] == "not_found"


async def test_writes_are_counted_and_a_stuck_write_shows_in_the_oldest_pending_age(
    relay: BulkSync, db_pool: asyncpg.Pool, org: str
) -> None:
    rejected_before = WRITES.labels("invoices", "rejected")._value.get()
    bad = write("invoices", "create", "erp-inv-9", {"customer_id": "1", "line_items": [{}]})
    assert (await outcomes(relay.api, await submit(relay.api, bad)))[0]["status"] == "rejected"
    assert WRITES.labels("invoices", "rejected")._value.get() == rejected_before + 1
    # a write waiting far in its backoff, queued 90 s ago
    stuck = await db_pool.fetchval(
        "INSERT INTO tds_outbox (org_id, entity, op, local_ref, payload, idempotency_key, "
        "created_at, next_attempt_at) VALUES ($1, 'customers', 'create', 'stuck', $2::jsonb, "
        "'stuck-key', now() - interval '90 seconds', now() + interval '1 hour') RETURNING id",
        org,
        {"contact_name": "Stuck"},
    )
    try:
        await wait_until(lambda: OLDEST_PENDING._value.get() >= 90, what="the stuck write's age")
    finally:
        await db_pool.execute("UPDATE tds_outbox SET status = 'failed' WHERE id = $1", stuck)
    await wait_until(lambda: OLDEST_PENDING._value.get() < 90, what="the age to drop")


async def test_a_lease_shorter_than_a_proxy_call_is_refused_at_startup(
    make_bulk: MakeBulk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BULK_SYNC_WRITEBACK__LEASE_SECONDS", "10")
    with pytest.raises(ConfigurationError, match="LEASE_SECONDS must exceed"):
        async with make_bulk(proxy={"timeout_seconds": 10}):
            pass


async def test_an_update_whose_answers_were_lost_is_found_applied_not_taken_for_a_conflict(
    relay: BulkSync, zoho: Zoho, org: str
) -> None:
    customer = write("customers", "create", "erp-cust-8", {"contact_name": "Eight"})
    created = await outcomes(relay.api, await submit(relay.api, customer))
    before = await sim_writes(zoho)
    # every PUT the proxy makes (it retries PUTs) is applied, then answered 500
    await zoho.sim("PUT", "/_sim/write-faults", {"fail_after_apply_next": 4})
    try:
        rows = await outcomes(
            relay.api,
            await submit(
                relay.api,
                write(
                    "customers",
                    "update",
                    "erp-cust-8",
                    {"contact_name": "Eight (ERP)"},
                    expected_last_modified_time=created[0]["result"]["last_modified_time"],
                ),
            ),
        )
    finally:
        await zoho.sim("PUT", "/_sim/write-faults", {"fail_after_apply_next": 0})
    assert (rows[0]["status"], rows[0]["attempts"]) == ("applied", 2), rows
    assert rows[0]["result"]["contact_name"] == "Eight (ERP)"
    assert await applied_since(zoho, before) == {"PUT contacts": 4}, "no PUT after the read"


async def test_a_malformed_row_from_the_erp_fails_clearly_and_the_relay_goes_on(
    relay: BulkSync, db_pool: asyncpg.Pool, org: str
) -> None:
    malformed = await db_pool.fetchval(
        "INSERT INTO tds_outbox (org_id, entity, op, local_ref, payload, idempotency_key) "
        "VALUES ($1, 'customers', 'create', 'erp-bad-row', $2::jsonb, 'bad-row-key') RETURNING id",
        org,
        ["not", "an", "object"],
    )
    good = write("customers", "create", "erp-cust-9", {"contact_name": "Nine"})
    rows = await outcomes(relay.api, [malformed, *await submit(relay.api, good)])
    assert rows[0]["status"] == "failed" and "cannot send" in rows[0]["error"]
    assert rows[0]["attempts"] == 1
    assert rows[1]["status"] == "applied"


async def test_two_relays_share_the_outbox_without_doubling_or_reordering(
    make_bulk: MakeBulk, zoho: Zoho, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_relay(monkeypatch)
    before = await sim_writes(zoho)
    writes = []
    for n in range(6):
        writes.append(write("products", "create", f"pair-{n}", {"name": f"Pair {n}", "rate": n}))
        writes.append(write("products", "update", f"pair-{n}", {"name": f"Pair {n} v2"}))
    async with make_bulk() as first, make_bulk() as second:
        ids = await submit(first.api, *writes)
        rows = await outcomes(second.api, ids)
    assert [row["status"] for row in rows] == ["applied"] * len(writes), rows
    for created, updated in zip(rows[::2], rows[1::2], strict=True):
        assert created["zoho_id"] == updated["zoho_id"]
        assert created["applied_at"] < updated["applied_at"]
        assert updated["result"]["name"].endswith("v2")
    assert await applied_since(zoho, before) == {"POST items": 6, "PUT items": 6}
