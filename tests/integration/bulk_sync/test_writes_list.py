"""``GET /api/zoho/writes``: the outbox listed newest first, paged by key (``tds writes``).

bulk-sync runs its API only (no worker, no relay), so the rows stay as the test wrote them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from bulk_sync.app import create_app
from tds_common.settings import TopicSettings
from tests.utils.auth import API_AUTH

from .helpers import bulk_sync_settings

pytestmark = pytest.mark.integration

ORG = "70000000999"


@pytest.fixture(name="api")
async def fixture_api(
    database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> AsyncIterator[httpx.AsyncClient]:
    settings = bulk_sync_settings(
        database_url,
        kafka_bootstrap,
        topics,
        "http://127.0.0.1:9",  # nothing listens: no call reaches zoho-proxy
        ORG,
        group_id=f"test-writes-list-{uuid.uuid4().hex[:8]}",
    )
    api_only = settings.model_copy(
        update={
            "worker_enabled": False,
            "writeback": settings.writeback.model_copy(update={"enabled": False}),
        }
    )
    app = create_app(api_only)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bulk-sync", headers=API_AUTH
        ) as client,
    ):
        yield client


async def _writes(pool: asyncpg.Pool, statuses: list[str]) -> list[int]:
    """One outbox row per status, in this order (ascending ids)."""
    ids: list[int] = []
    for status in statuses:
        key = f"list-{uuid.uuid4().hex[:12]}"
        ids.append(
            await pool.fetchval(
                "INSERT INTO tds_outbox (org_id, entity, op, local_ref, idempotency_key, status, "
                "error) VALUES ($1, 'customers', 'create', $2, $2, $3, $4) RETURNING id",
                ORG,
                key,
                status,
                "x" * 500 if status == "failed" else None,
            )
        )
    return ids


async def _page(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await api.get("/api/zoho/writes", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_pages_go_newest_first_and_follow_next_before_id(
    api: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    ids = await _writes(db_pool, ["pending", "applied", "failed"])
    first = await _page(api, limit=2, before_id=ids[-1] + 1)
    second = await _page(api, limit=2, before_id=first["next_before_id"])

    assert [w["id"] for w in first["writes"]] == [ids[2], ids[1]]
    assert first["next_before_id"] == ids[1]
    assert second["writes"][0]["id"] == ids[0]
    failed = first["writes"][0]
    assert (failed["status"], len(failed["error"])) == ("failed", 120)
    assert "payload" not in failed  # the list is a summary; GET /writes/{id} has the rest


async def test_a_short_page_is_the_last(api: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    (only,) = await _writes(db_pool, ["pending"])
    page = await _page(api, limit=1000, before_id=only + 1)
    assert page["writes"][0]["id"] == only
    assert page["next_before_id"] is None


async def test_status_narrows_the_list(api: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    ids = await _writes(db_pool, ["applied", "rejected", "applied"])
    page = await _page(api, status="rejected", before_id=ids[-1] + 1, limit=1)
    assert [(w["id"], w["status"]) for w in page["writes"]] == [(ids[1], "rejected")]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"before_id": 0}, "before_id"),
    ],
)
async def test_bad_parameters_are_422_naming_them(
    api: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await api.get("/api/zoho/writes", params=params)
    assert response.status_code == 422
    assert field in response.text


async def test_the_list_wants_a_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/zoho/writes", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
