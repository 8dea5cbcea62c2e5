"""zoho-proxy's door: every call carries a caller's bearer token, and only writers write.

The routes run in-process against a stub Zoho client (the routing and budgets are tested
elsewhere); what is checked here is who gets through and what reaches Zoho.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tds_common.app import create_service_app
from tds_common.health import HealthRegistry
from tests.unit.zoho_proxy.conftest import make_settings
from zoho_proxy import metrics
from zoho_proxy.api.routes import budget, entities, passthrough
from zoho_proxy.state import ProxyState
from zoho_proxy.zoho.client import ZohoResponse

READER = "reader-token-0123456789abcdefghij"
WRITER = "writer-token-0123456789abcdefghij"
OLD_READER = "old-reader-token-0123456789abcdef"


class StubZoho:
    """Answers every call with an item; remembers the calls that reached "Zoho"."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def call(self, product: str, method: str, path: str, **_: Any) -> ZohoResponse:
        self.calls.append((method, path))
        body = b'{"code": 0, "item": {"item_id": "1"}, "items": []}'
        headers = httpx.Headers({"content-type": "application/json"})
        return ZohoResponse(200, headers, body, product)


def proxy_app(**settings: Any) -> tuple[FastAPI, StubZoho]:
    zoho = StubZoho()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    app = create_service_app(
        title="zoho-proxy under test",
        lifespan=lifespan,
        health=HealthRegistry(),
        http_metrics=metrics.HTTP,
        max_body_bytes=None,
    )
    for module in (entities, passthrough, budget):
        app.include_router(module.router)
    state = ProxyState(make_settings(**settings), None, None, zoho, None)  # type: ignore[arg-type]
    app.state.proxy = state
    return app, zoho


def client(app: FastAPI, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://proxy", headers=headers
    )


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789abcdefgh", READER[:-1]])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/products/1"),
        ("GET", "/v1/products"),
        ("GET", "/zoho/books/items"),
        ("POST", "/zoho/books/invoices"),
        ("GET", "/api/zoho/budget"),
    ],
)
async def test_calls_without_an_accepted_token_are_401_and_reach_nothing(
    token: str | None, method: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, zoho = proxy_app(client_tokens=[READER], writer_tokens=[WRITER])
    caplog.set_level(logging.DEBUG)
    async with client(app, token) as proxy:
        answer = await proxy.request(method, path, headers={"X-TDS-Org": "60000000001"})
    assert answer.status_code == 401
    assert answer.json()["error_code"] == "unauthenticated"
    assert zoho.calls == []
    assert READER not in caplog.text and WRITER not in caplog.text


async def test_a_proxy_without_tokens_refuses_everyone_but_health_and_metrics_stay_open() -> None:
    app, zoho = proxy_app()
    async with client(app, READER) as proxy:
        assert (await proxy.get("/v1/products/1")).status_code == 401
        assert (await proxy.get("/health")).status_code == 200
        assert (await proxy.get("/metrics")).status_code == 200
    assert zoho.calls == []


async def test_every_accepted_token_reads_so_a_rotation_needs_no_outage() -> None:
    app, zoho = proxy_app(client_tokens=[OLD_READER, READER], writer_tokens=[WRITER])
    for token in (OLD_READER, READER, WRITER):
        async with client(app, token) as proxy:
            answer = await proxy.get("/v1/products/1", headers={"X-TDS-Org": "60000000001"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["record"] == {"item_id": "1"}
    assert len(zoho.calls) == 3


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_the_pass_through_refuses_writes_from_a_reader(method: str) -> None:
    app, zoho = proxy_app(client_tokens=[READER], writer_tokens=[WRITER])
    async with client(app, READER) as proxy:
        answer = await proxy.request(method, "/zoho/books/invoices/1", content=b"{}")
    assert answer.status_code == 403
    assert answer.json()["error_code"] == "writes_refused"
    assert zoho.calls == []
    async with client(app, READER) as proxy:
        assert (await proxy.get("/zoho/books/invoices/1")).status_code == 200
    assert zoho.calls == [("GET", "invoices/1")]


async def test_only_a_writer_token_writes_and_without_one_nobody_does() -> None:
    app, zoho = proxy_app(client_tokens=[READER], writer_tokens=[WRITER])
    async with client(app, WRITER) as proxy:
        answer = await proxy.post("/zoho/books/invoices", content=b"{}")
    assert answer.status_code == 200 and zoho.calls == [("POST", "invoices")]
    read_only, zoho = proxy_app(client_tokens=[READER, WRITER])
    async with client(read_only, WRITER) as proxy:
        assert (await proxy.post("/zoho/books/invoices", content=b"{}")).status_code == 403
    assert zoho.calls == []


def test_short_tokens_are_refused_at_startup_without_showing_them() -> None:
    with pytest.raises(ValueError, match=r"client_tokens[\s\S]*token #2 is shorter") as caught:
        make_settings(client_tokens=f"{READER},short-secret")
    assert "short-secret" not in str(caught.value)


async def test_the_openapi_document_states_the_shared_answer_models() -> None:
    app, _ = proxy_app(client_tokens=[READER])
    async with client(app) as proxy:
        document = (await proxy.get("/openapi.json")).json()
    record = document["paths"]["/v1/{entity}/{record_id}"]["get"]["responses"]
    page = document["paths"]["/v1/{entity}"]["get"]["responses"]
    assert record["200"]["content"]["application/json"]["schema"]["$ref"].endswith("RecordAnswer")
    assert page["200"]["content"]["application/json"]["schema"]["$ref"].endswith("PageAnswer")
    assert record["401"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorAnswer")
