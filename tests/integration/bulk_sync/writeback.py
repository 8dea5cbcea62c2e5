"""Drivers for the write-back tests: submit writes to bulk-sync, wait for their outcome."""

from __future__ import annotations

import uuid
from typing import Any, Final

import httpx
import pytest

from tests.utils.polling import wait_until
from tests.utils.zoho import PROXY_AUTH

TERMINAL: Final = frozenset({"applied", "conflict", "rejected", "failed"})
FAST_RELAY: Final = {
    "BULK_SYNC_WRITEBACK__POLL_SECONDS": "0.05",
    "BULK_SYNC_WRITEBACK__RETRY_INITIAL_SECONDS": "0.05",
    "BULK_SYNC_WRITEBACK__RETRY_MAX_SECONDS": "0.2",
}


def fast_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST_RELAY.items():
        monkeypatch.setenv(name, value)


def key() -> str:
    return f"tds-{uuid.uuid4().hex[:16]}"


def write(
    entity: str, op: str, local_ref: str, payload: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "entity": entity,
        "op": op,
        "local_ref": local_ref,
        "payload": payload or {},
        "idempotency_key": key(),
        **extra,
    }


async def submit(api: httpx.AsyncClient, *writes: dict[str, Any]) -> list[int]:
    response = await api.post("/api/zoho/writes", json=list(writes))
    assert response.status_code == 202, response.text
    ids: list[int] = response.json()["ids"]
    return ids


async def outcomes(api: httpx.AsyncClient, ids: list[int]) -> list[dict[str, Any]]:
    """Wait until every write has ended; their rows, in the order of ``ids``."""
    rows: dict[int, dict[str, Any]] = {}

    async def ended() -> bool:
        for write_id in ids:
            response = await api.get(f"/api/zoho/writes/{write_id}")
            response.raise_for_status()
            rows[write_id] = response.json()
        return all(row["status"] in TERMINAL for row in rows.values())

    await wait_until(ended, what=f"writes {ids} to end")
    return [rows[write_id] for write_id in ids]


async def search(proxy_url: str, org: str, path: str, field: str, value: str) -> list[Any]:
    """Zoho's list search (``GET /contacts?cf_tds_key=...``) through the proxy's pass-through."""
    async with httpx.AsyncClient(base_url=proxy_url, headers=PROXY_AUTH, timeout=30) as client:
        response = await client.get(
            f"/zoho/books/{path}", params={field: value}, headers={"X-TDS-Org": org}
        )
    response.raise_for_status()
    found: list[Any] = response.json()[path]
    return found
