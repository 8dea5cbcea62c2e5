"""A hostile-input corpus through ingest → Kafka → processor, every service its own process.

For each request: never a 5xx; a 4xx says why in JSON; a 2xx ends in the mirror (inbox
``completed``/``skipped``) or as a dead letter that carries its reason — never stuck, never lost.
Envelopes written straight to the topic (a replay, another producer) are dead-lettered with
their reason too. After each corpus, ordinary Zoho edits still reach the mirror: bad records do
not stall the pipeline behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaProducer

from tds_common.events import parse_zoho_timestamp
from tests.e2e.conftest import ORG_ID, WEBHOOK_SECRET, Stack

T = TypeVar("T")
WAIT_SECONDS = 60.0
"""A liveness bound for polling, not a speed assertion."""
STAMP = "2026-06-09T09:45:21-0400"

REFUSED = frozenset({"400"})
INVALID = frozenset({"422"})
LANDS = frozenset({"completed"})
DEAD_LETTER = frozenset({"dead_letter"})
SETTLED = frozenset({"completed", "skipped", "dead_letter"})


# The shared stack (five services and Jaeger) may start within this module's first test.
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module", name="stack")
def fixture_stack(shared_stack: Stack) -> Stack:
    """The e2e modules' shared stack: every test here works on records of its own."""
    return shared_stack


@dataclass(frozen=True)
class Case:
    name: str
    entity: str
    body: str
    allowed: frozenset[str]
    """HTTP statuses (4xx) and inbox outcomes (for a 2xx) this case may end in."""
    query: str = ""


_ids = iter(range(1, 10_000))


def _product(fields: str, *, stamp: str | None = STAMP, item_id: str | None = None) -> str:
    """A complete product (it has a name, so no zoho-proxy read) with extra JSON ``fields``."""
    parts = [f'"item_id": "{item_id or f"880000000{next(_ids):05d}"}"', '"name": "corpus"']
    if stamp is not None:
        parts.append(f'"last_modified_time": "{stamp}"')
    if fields:
        parts.append(fields)
    return '{"item": {' + ", ".join(parts) + "}}"


def _customer(fields: str) -> str:
    contact_id = f"890000000{next(_ids):05d}"
    return (
        f'{{"contact": {{"contact_id": "{contact_id}", "contact_name": "corpus", '
        f'"last_modified_time": "{STAMP}", {fields}}}}}'
    )


def _nested(depth: int) -> str:
    """``depth`` levels of arrays below the record (the document is ``depth + 2`` deep)."""
    return '"custom": ' + "[" * depth + "]" * depth


DEPTHS = (150, 200, 255, 256, 300)
CORPUS = (
    *(Case(f"depth {d}", "products", _product(_nested(d)), REFUSED) for d in DEPTHS),
    Case("depth 40 (within the limit)", "products", _product(_nested(40)), LANDS),
    Case("lone high surrogate", "products", _product(r'"description": "\ud800"'), REFUSED),
    Case("lone low surrogate in a key", "products", _product(r'"\udc00": 1'), REFUSED),
    Case(
        "surrogate pair (an emoji)", "products", _product(r'"description": "\ud83d\ude00"'), LANDS
    ),
    Case("float overflow 1e9999999", "products", _product('"rate": 1e9999999'), REFUSED),
    Case("float overflow 1e999", "products", _product('"purchase_rate": -1e999'), REFUSED),
    Case("float underflow 1e-9999999", "products", _product('"rate": 1e-9999999'), LANDS),
    Case("10**5000 as a JSON integer", "products", _product('"rate": 1' + "0" * 5000), REFUSED),
    Case("10**4000 as a JSON integer", "products", _product('"rate": 1' + "0" * 4000), DEAD_LETTER),
    Case(
        "1e9999999 as text in an int column",
        "customers",
        _customer('"payment_terms": "1e9999999"'),
        DEAD_LETTER,
    ),
    Case(
        "1e-9999999 as text in an int column",
        "customers",
        _customer('"payment_terms": "1e-9999999"'),
        SETTLED,
    ),
    Case("NUL in a string", "products", _product(r'"description": "a\u0000b"'), INVALID),
    Case("NUL in a key", "products", _product(r'"a\u0000": 1'), INVALID),
    Case("NUL in the id", "products", _product("", item_id=r"88\u00001"), INVALID),
    Case("NUL in the org", "products", _product(""), REFUSED, query="org_id=600%0000001"),
    Case("letters in the org", "products", _product(""), REFUSED, query="org_id=acme-1"),
    Case("missing version", "products", _product("", stamp=None), INVALID),
    Case("empty version", "products", _product("", stamp=""), INVALID),
    Case("version in year 0", "products", _product("", stamp="0000-01-01T00:00:00+0000"), INVALID),
    Case(
        "future version",
        "products",
        _product("", stamp="2099-01-01T00:00:00+0000"),
        INVALID | DEAD_LETTER,
    ),
    Case("version at the epoch", "products", _product("", stamp="1970-01-01T00:00:00+0000"), LANDS),
)


def _post(stack: Stack, case: Case) -> httpx.Response:
    query = f"?{case.query}" if case.query else ""
    return httpx.post(
        f"{stack.ingest.url}/api/zoho/webhooks/{case.entity}{query}",
        content=case.body.encode(),
        headers={"X-TDS-Webhook-Token": WEBHOOK_SECRET, "Content-Type": "application/json"},
        timeout=30,
    )


def _eventually(probe: Callable[[], T | None], what: Callable[[], str]) -> T:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what()}")
        time.sleep(0.2)


def _inbox(url: str, event_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT event_id, status, error_message FROM tds_inbox_events WHERE event_id = ANY(%s)",
            (event_ids,),
        ).fetchall()
    return {event_id: (status, error) for event_id, status, error in rows}


def _mirror_row(url: str, table: str, id_column: str, zoho_id: str, stamp: str) -> Any:
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"SELECT 1 FROM {table} WHERE org_id = %s AND {id_column} = %s"
            " AND zoho_last_modified_time >= %s",
            (ORG_ID, zoho_id, parse_zoho_timestamp(stamp)),
        ).fetchone()


def test_hostile_corpus_never_5xx_every_2xx_settles_with_a_reason_and_later_edits_land(
    stack: Stack,
) -> None:
    accepted: dict[str, Case] = {}
    outcomes: dict[str, str] = {}
    for case in CORPUS:
        response = _post(stack, case)
        assert response.status_code < 500, (case.name, response.status_code, response.text)
        assert WEBHOOK_SECRET not in response.text
        if response.status_code == 202:
            accepted[response.json()["event_id"]] = case
        else:
            assert set(response.json()) >= {"error_code", "message"}, case.name
            outcomes[case.name] = str(response.status_code)

    names = {event_id: case.name for event_id, case in accepted.items()}
    outcomes.update(
        {name: status for name, (status, _) in _settle(stack.database_url, names).items()}
    )
    unexpected = {
        case.name: outcomes[case.name] for case in CORPUS if outcomes[case.name] not in case.allowed
    }
    assert unexpected == {}, outcomes
    _later_edits_land(stack)


def _settle(url: str, names: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """Wait until every event (by inbox event id) is settled; status and reason by case name."""
    ids = list(names)

    def settled() -> dict[str, tuple[str, str | None]] | None:
        found = _inbox(url, ids)
        done = all(status in SETTLED for status, _ in found.values())
        return found if done and len(found) == len(set(names.values())) else None

    found = _eventually(
        settled,
        lambda: (
            "every event to settle: "
            + str({names[i]: status for i, status in _inbox(url, ids).items()})
        ),
    )
    for event_id, (status, error) in found.items():
        if status == "dead_letter":
            assert error, f"{names[event_id]}: dead-lettered without a reason"
    return {names[event_id]: outcome for event_id, outcome in found.items()}


def _later_edits_land(stack: Stack) -> None:
    """Zoho edits after the corpus still flow: created and edited in the simulator, delivered
    by its webhooks, landed with the edited version."""
    sim = httpx.Client(base_url=f"{stack.sim.url}/_sim/orgs/{ORG_ID}", timeout=30)
    for entity, table, id_column, field in (
        ("items", "zoho.products", "item_id", "description"),
        ("contacts", "zoho.customers", "contact_id", "phone"),
    ):
        zoho_id = sim.post(f"/{entity}", json={}).json()["record"][id_column]
        edited = sim.patch(f"/{entity}/{zoho_id}", json={field: "after the corpus"}).json()
        stamp = edited["record"]["last_modified_time"]
        _eventually(
            lambda: _mirror_row(stack.database_url, table, id_column, zoho_id, stamp),  # noqa: B023
            lambda: f"{entity} {zoho_id} edited after the corpus to reach the mirror",  # noqa: B023
        )


def _envelope(*, zoho_id: str = "", fields: dict[str, Any] | None = None, **changes: Any) -> Any:
    """A valid, complete product event as ingest would publish it, with ``changes`` applied
    to the envelope and ``fields`` to its record (whose id always agrees with the envelope's)."""
    zoho_id = zoho_id or f"870000000{next(_ids):05d}"
    envelope: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "org_id": ORG_ID,
        "entity": "products",
        "zoho_id": zoho_id,
        "op": "upsert",
        "source": "webhook",
        "received_at": "2026-06-09T13:45:30Z",
        "last_modified_time": "2026-06-09T13:45:21Z",
        "payload": {"item_id": zoho_id, "name": "crafted", "last_modified_time": STAMP},
    }
    envelope["payload"].update(fields or {})
    envelope.update(changes)
    return envelope


def _deep(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


NUL_ID = "87\x001"
# Events that reach the topic without ingest (a replay, another producer, an older release):
# the processor must dead-letter each with its reason, and nothing behind it may stall.
CRAFTED: tuple[tuple[str, bytes, frozenset[str], str], ...] = tuple(
    (name, value if isinstance(value, bytes) else json.dumps(value).encode(), allowed, says)
    for name, value, allowed, says in (
        (
            "NUL in zoho_id",
            _envelope(zoho_id=NUL_ID, fields={"item_id": NUL_ID}),
            DEAD_LETTER,
            "U+0000",
        ),
        ("NUL in entity", _envelope(entity="products\x00"), DEAD_LETTER, "U+0000"),
        ("NUL in event_id", _envelope(event_id="e\x00"), DEAD_LETTER, "U+0000"),
        ("NUL in org_id", _envelope(org_id="600\x0000001"), DEAD_LETTER, "org_id"),
        ("letters in org_id", _envelope(org_id="acme-1"), DEAD_LETTER, "org_id"),
        ("NUL in payload", _envelope(fields={"description": "\x00"}), DEAD_LETTER, "U+0000"),
        (
            "payload past the depth limit",
            _envelope(fields={"custom": _deep(100)}),
            DEAD_LETTER,
            "deeper than",
        ),
        ("not JSON", b"\xff{", DEAD_LETTER, "not an event envelope"),
        ("future version", _envelope(last_modified_time="2099-01-01T00:00:00Z"), DEAD_LETTER, ""),
        ("missing version", _envelope(last_modified_time=None), SETTLED, ""),
    )
)


async def _publish(bootstrap: str, topic: str) -> dict[str, str]:
    """Send every crafted event; the inbox event ids each may be recorded under, by case."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    names: dict[str, str] = {}
    try:
        for name, value, _, _ in CRAFTED:
            sent = await producer.send_and_wait(topic, value, key=name.encode())
            # Decodable: its own event id. Not decodable: the record's place in the topic.
            names[f"invalid:{topic}:{sent.partition}:{sent.offset}"] = name
            with contextlib.suppress(ValueError):
                event_id = json.loads(value)["event_id"]
                if "\x00" not in event_id:  # then it cannot be an inbox row's id anyway
                    names[event_id] = name
    finally:
        await producer.stop()
    return names


def test_crafted_envelopes_are_dead_lettered_with_a_reason_and_later_edits_land(
    stack: Stack, kafka_bootstrap: str
) -> None:
    names = asyncio.run(_publish(kafka_bootstrap, stack.events_topic))
    settled = _settle(stack.database_url, names)
    unexpected = {
        name: settled[name]
        for name, _, allowed, says in CRAFTED
        if settled[name][0] not in allowed or says not in (settled[name][1] or "")
    }
    assert unexpected == {}, settled
    _later_edits_land(stack)
