"""Bearer tokens between services: who gets through each service's API (not health/metrics)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from bulk_sync.app import create_app as create_bulk_sync
from bulk_sync.settings import Settings as BulkSyncSettings
from processor.app import create_app as create_processor
from processor.settings import Settings as ProcessorSettings
from tds_common.auth import bearer_headers, matches_any

TOKEN = "api-token-0123456789abcdefghijkl"
OLD = "old-api-token-0123456789abcdefgh"
AppFactory = Callable[[list[str]], FastAPI]


def _processor(tokens: list[str]) -> FastAPI:
    return create_processor(ProcessorSettings(api_tokens=tokens))


def _bulk_sync(tokens: list[str]) -> FastAPI:
    return create_bulk_sync(BulkSyncSettings(api_tokens=tokens))


SERVICES: list[tuple[AppFactory, str, str, dict[str, Any]]] = [
    (_processor, "GET", "/api/zoho/sync/stats", {}),
    (_processor, "POST", "/api/zoho/dead-letters/replay", {"json": {}}),
    (_bulk_sync, "POST", "/api/zoho/bulk-sync", {"json": {"entities": ["invoices"]}}),
    (_bulk_sync, "GET", "/api/zoho/sync/runs", {}),
    (_bulk_sync, "POST", "/api/zoho/writes", {"json": []}),
]


async def _call(app: FastAPI, method: str, path: str, token: str | None, **kw: Any) -> int:
    # No lifespan: nothing is connected, so an authenticated call fails later (500), never 401.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return (await client.request(method, path, headers=headers, **kw)).status_code


@pytest.mark.parametrize(("factory", "method", "path", "kw"), SERVICES)
async def test_the_api_wants_one_of_its_tokens(
    factory: AppFactory,
    method: str,
    path: str,
    kw: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = factory([OLD, TOKEN])
    assert await _call(app, method, path, None, **kw) == 401
    assert await _call(app, method, path, "Basic " + TOKEN, **kw) == 401
    assert await _call(app, method, path, TOKEN[:-1] + "x", **kw) == 401
    for accepted in (OLD, TOKEN):  # both, during a rotation
        assert await _call(app, method, path, accepted, **kw) != 401
    assert TOKEN not in caplog.text and OLD not in caplog.text


@pytest.mark.parametrize(
    ("factory", "path"), [(_processor, "/api/zoho/sync/stats"), (_bulk_sync, "/api/zoho/sync/runs")]
)
async def test_without_tokens_the_api_is_closed_and_health_and_metrics_stay_open(
    factory: AppFactory, path: str
) -> None:
    app = factory([])
    assert await _call(app, "GET", path, TOKEN) == 401
    assert await _call(app, "GET", "/health", None) == 200
    assert await _call(app, "GET", "/metrics", None) == 200


def test_tokens_compare_whole_and_only_with_accepted_ones() -> None:
    accepted = [SecretStr(OLD), SecretStr(TOKEN)]
    assert matches_any(TOKEN, accepted) and matches_any(OLD, accepted)
    assert not matches_any(TOKEN[:-1], accepted) and not matches_any(TOKEN + "x", accepted)
    assert not matches_any("", accepted) and not matches_any(TOKEN, [])
    assert not matches_any(TOKEN * 100, [SecretStr(TOKEN * 100)])  # junk is not compared


def test_settings_split_tokens_and_refuse_short_ones_without_echoing_them() -> None:
    settings = ProcessorSettings(api_tokens=f" {OLD} ,{TOKEN},")
    assert [t.get_secret_value() for t in settings.api_tokens] == [OLD, TOKEN]
    with pytest.raises(ValueError, match="token #2 is shorter") as caught:
        BulkSyncSettings(api_tokens=f"{TOKEN},tiny-token")
    assert "tiny-token" not in str(caught.value)
    assert bearer_headers(None) == {}
    assert bearer_headers(SecretStr(TOKEN)) == {"Authorization": f"Bearer {TOKEN}"}
