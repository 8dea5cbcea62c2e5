"""The Zoho client against httpx.MockTransport: auth, org id, retries, 401, 429, routing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from zoho_proxy import routing
from zoho_proxy.errors import (
    BadRequestError,
    BudgetExhaustedError,
    NotFoundError,
    ZohoServerError,
    ZohoUnavailableError,
)
from zoho_proxy.settings import Settings
from zoho_proxy.zoho.client import ZohoClient, endpoint_template

from .conftest import FakeBudget, FakeTokens, make_settings

Handler = Callable[[httpx.Request], httpx.Response]


def zoho(status: int, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def make_client(
    handler: Handler, settings: Settings | None = None, tokens: FakeTokens | None = None
) -> tuple[ZohoClient, FakeBudget, FakeTokens, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    budget = FakeBudget()
    tokens = tokens or FakeTokens()
    http = httpx.AsyncClient(transport=httpx.MockTransport(record))
    return ZohoClient(http, budget, tokens, settings or make_settings()), budget, tokens, seen


async def test_adds_token_and_organization_and_reports_headers_to_the_budget() -> None:
    client, budget, _, seen = make_client(
        lambda r: zoho(
            200, {"code": 0, "item": {"item_id": "1"}}, **{"X-Rate-Limit-Remaining": "7"}
        )
    )
    response = await client.call(
        "books",
        "GET",
        "/items/1",
        org_id="60000000002",
        lane="webhook",
        params=[("organization_id", "spoofed"), ("x", "y")],
    )
    assert response.status_code == 200
    request = seen[0]
    assert request.url.path == "/books/v3/items/1"
    assert request.headers["authorization"] == "Zoho-oauthtoken token-1"
    assert request.url.params.get_list("organization_id") == ["60000000002"]
    assert request.url.params["x"] == "y"
    assert budget.acquired == [("60000000002", "books", "webhook")]
    headers, throttle = budget.released[0]
    assert headers is not None and headers["x-rate-limit-remaining"] == "7"
    assert throttle is None


async def test_retries_5xx_for_idempotent_methods_then_gives_502() -> None:
    client, budget, _, seen = make_client(lambda r: zoho(500, {"code": 1000, "message": "x"}))
    with pytest.raises(ZohoServerError):
        await client.call("books", "GET", "/items", org_id="1", lane="bulk")
    assert len(seen) == 4  # retry_attempts default
    assert len(budget.acquired) == len(budget.released) == 4  # each attempt is budgeted


async def test_never_retries_a_post() -> None:
    client, _, _, seen = make_client(lambda r: zoho(503, {"code": 1000, "message": "x"}))
    with pytest.raises(ZohoServerError):
        await client.call("books", "POST", "/items", org_id="1", lane="bulk", content=b"{}")
    assert len(seen) == 1


async def test_recovers_after_transient_failures() -> None:
    answers = iter([zoho(502, {}), zoho(200, {"code": 0, "items": []})])
    client, _, _, seen = make_client(lambda r: next(answers))
    response = await client.call("inventory", "GET", "/items", org_id="1", lane="bulk")
    assert response.status_code == 200
    assert len(seen) == 2


async def test_network_errors_become_503_after_retries() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, _, _, seen = make_client(refuse, make_settings(retry_attempts=2))
    with pytest.raises(ZohoUnavailableError, match="unreachable"):
        await client.call("books", "GET", "/items", org_id="1", lane="bulk")
    assert len(seen) == 2


async def test_timeouts_become_503() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client, budget, _, _ = make_client(slow, make_settings(retry_attempts=1))
    with pytest.raises(ZohoUnavailableError, match="did not answer"):
        await client.call("books", "GET", "/items", org_id="1", lane="bulk")
    # Zoho may still be working on it: the in-flight slot is held until the lease expires.
    assert budget.held == [True]


async def test_a_401_is_retried_once_with_a_new_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"].endswith("token-1"):
            return zoho(401, {"code": 57, "message": "You are not authorized"})
        return zoho(200, {"code": 0, "items": []})

    client, _, tokens, seen = make_client(handler)
    response = await client.call("books", "POST", "/items", org_id="1", lane="bulk")
    assert response.status_code == 200
    assert tokens.invalidated == ["token-1"]
    assert [r.headers["authorization"] for r in seen] == [
        "Zoho-oauthtoken token-1",
        "Zoho-oauthtoken token-2",
    ]


async def test_a_401_on_a_fresh_token_is_returned_not_looped() -> None:
    client, _, tokens, seen = make_client(
        lambda r: zoho(401, {"code": 57, "message": "no scope"}),
        tokens=FakeTokens(invalidation_helps=False),
    )
    response = await client.call("books", "GET", "/items", org_id="1", lane="bulk")
    assert response.status_code == 401
    assert len(seen) == 1
    assert tokens.invalidated == ["token-1"]


async def test_zoho_429_becomes_our_429_and_teaches_the_budget() -> None:
    client, budget, _, _ = make_client(lambda r: zoho(429, {"code": 44, "message": "blocked"}))
    with pytest.raises(BudgetExhaustedError) as caught:
        await client.call("books", "GET", "/items", org_id="1", lane="bulk")
    assert caught.value.retry_after_seconds == 60
    assert budget.released[0][1] == 44


async def test_zoho_in_flight_429_is_retried() -> None:
    answers = iter([zoho(429, {"code": 1070, "message": "in process"}), zoho(200, {"code": 0})])
    client, _, _, seen = make_client(lambda r: next(answers))
    response = await client.call("books", "GET", "/items", org_id="1", lane="bulk")
    assert response.status_code == 200 and len(seen) == 2


def test_endpoint_templates_hide_record_ids() -> None:
    assert endpoint_template("/items/4815000000044208") == "/items/{id}"
    assert endpoint_template("settings/warehouses") == "/settings/warehouses"
    assert endpoint_template("/contacts/123/contactpersons/9") == (
        "/contacts/{id}/contactpersons/{id}"
    )


async def test_products_fall_back_from_books_to_inventory() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/books"):
            return zoho(404, {"code": 1002, "message": "Item does not exist."})
        return zoho(200, {"code": 0, "item": {"item_id": "42", "warehouses": []}})

    client, _, _, seen = make_client(handler)
    result = await routing.read_record(client, "products", "42", org_id="7", lane="webhook")
    assert result.model_dump() == {
        "entity": "products",
        "source": "inventory",
        "organization_id": "7",
        "record": {"item_id": "42", "warehouses": []},
    }
    assert [r.url.path for r in seen] == ["/books/v3/items/42", "/inventory/v1/items/42"]


async def test_books_only_entities_do_not_fall_back() -> None:
    client, _, _, seen = make_client(lambda r: zoho(404, {"code": 1002, "message": "nope"}))
    with pytest.raises(NotFoundError, match="not found in Zoho books"):
        await routing.read_record(client, "invoices", "9", org_id="7", lane="webhook")
    assert len(seen) == 1


async def test_stock_reads_the_inventory_item() -> None:
    client, _, _, seen = make_client(
        lambda r: zoho(200, {"code": 0, "item": {"item_id": "5", "warehouses": [{}]}})
    )
    result = await routing.read_record(client, "stock", "5", org_id="7", lane="webhook")
    assert result.source == "inventory"
    assert seen[0].url.path == "/inventory/v1/items/5"


async def test_list_pages_carry_page_context() -> None:
    body = {
        "code": 0,
        "creditnotes": [{"creditnote_id": "1"}],
        "page_context": {"page": 2, "has_more_page": False},
    }
    client, _, _, seen = make_client(lambda r: zoho(200, body))
    result = await routing.read_page(
        client, "credit-notes", [("page", "2")], org_id="7", lane="bulk"
    )
    assert result.records == [{"creditnote_id": "1"}]
    assert result.page_context == {"page": 2, "has_more_page": False}
    assert seen[0].url.path == "/books/v3/creditnotes"
    assert seen[0].url.params["page"] == "2"


async def test_unknown_entity_is_404() -> None:
    client, _, _, seen = make_client(lambda r: zoho(200, {}))
    with pytest.raises(NotFoundError, match="unknown entity"):
        await routing.read_record(client, "widgets", "1", org_id="7", lane="webhook")
    assert seen == []


async def test_bad_org_is_a_clear_rejection() -> None:
    client, _, _, _ = make_client(
        lambda r: zoho(400, {"code": 6041, "message": "This user is not associated"})
    )
    with pytest.raises(Exception, match="not associated") as caught:
        await routing.read_record(client, "invoices", "1", org_id="7", lane="webhook")
    assert json.dumps(str(caught.value))


async def test_each_zoho_call_is_a_client_span(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    from zoho_proxy.zoho import client as client_module

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(client_module, "tracer", provider.get_tracer("test"))
    answers = iter([zoho(500, {}), zoho(200, {"code": 0, "item": {}})])
    client, _, _, _ = make_client(lambda r: next(answers))
    await client.call("books", "GET", "/items/4815000000044208", org_id="7", lane="webhook")
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["zoho GET books/items/{id}"] * 2  # one per attempt
    assert all(s.kind == SpanKind.CLIENT for s in spans)
    assert spans[0].attributes is not None and spans[1].attributes is not None
    assert spans[0].attributes["http.response.status_code"] == 500
    assert spans[1].attributes["zoho.lane"] == "webhook"
    assert "token" not in str([dict(s.attributes or {}) for s in spans]).lower()


@pytest.mark.parametrize(
    "path", ["../../oauth/v2/token", "/items/../../x", "items/./1", "items\\..\\..\\x", "a?b=1"]
)
async def test_paths_cannot_escape_the_api_root(path: str) -> None:
    client, budget, _, seen = make_client(lambda r: zoho(200, {"code": 0}))
    with pytest.raises(BadRequestError, match="below the API root"):
        await client.call("books", "GET", path, org_id="1", lane="bulk")
    assert seen == [] and budget.acquired == []
