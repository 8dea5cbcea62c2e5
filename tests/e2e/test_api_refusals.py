"""The services' own APIs refuse bad requests in the one error envelope and change nothing.

Every service its own process, as deployed: a path no route has, a wrong method, a body that is
not JSON, an invalid one (whose values are never echoed) and one over the body bound, declared
or streamed, each answer ``{"error_code", "message"}``; an oversized write batch queues nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, Final

import httpx
import psycopg
import pytest

from tests.e2e.conftest import BULK_SYNC_PROXY_TOKEN, ORG_ID, Stack
from tests.utils.auth import API_AUTH

pytestmark = pytest.mark.timeout(300)

BODY_LIMIT: Final = 64 * 1024


@pytest.fixture(scope="module", name="stack_extra_env")
def fixture_stack_extra_env() -> dict[str, str]:
    """A small body bound, so an oversized request is cheap to send."""
    return {
        "BULK_SYNC_MAX_REQUEST_BODY_BYTES": str(BODY_LIMIT),
        "ZOHO_PROXY_MAX_REQUEST_BODY_BYTES": str(BODY_LIMIT),
        "PROCESSOR_MAX_REQUEST_BODY_BYTES": str(BODY_LIMIT),
    }


def _write(local_ref: str, notes: str = "") -> dict[str, Any]:
    return {
        "entity": "customers",
        "op": "create",
        "local_ref": local_ref,
        "payload": {"contact_name": local_ref, "notes": notes},
        "idempotency_key": local_ref,
    }


def _queued(stack: Stack, prefix: str) -> int:
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM tds_outbox WHERE local_ref LIKE %s", (f"{prefix}%",)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _refusal(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error_code"] == code and body["message"], body
    return body


def test_an_oversized_write_batch_is_413_and_queues_nothing(stack: Stack) -> None:
    prefix = f"refusal-{uuid.uuid4().hex[:8]}-"
    batch = [_write(f"{prefix}{i}", notes="x" * 2048) for i in range(40)]  # ~90 KB
    url = f"{stack.bulk_sync.url}/api/zoho/writes"

    def streamed() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b"["
        for i, write in enumerate(batch):
            yield (b"," if i else b"") + httpx.Request("POST", url, json=write).content
        yield b"]"

    with httpx.Client(timeout=30.0, headers=API_AUTH) as client:
        declared = client.post(url, json=batch)
        chunked = client.post(url, content=streamed(), headers={"content-type": "application/json"})
        fits = client.post(url, json=batch[:5])
    for response in (declared, chunked):
        assert str(BODY_LIMIT) in _refusal(response, 413, "payload_too_large")["message"]
    assert fits.status_code == 202, fits.text
    assert _queued(stack, prefix) == 5  # the five that fit, none of the refused forty


def test_every_service_refuses_in_the_one_envelope(stack: Stack) -> None:
    secret_value = f"do-not-echo-{uuid.uuid4().hex}"
    with httpx.Client(timeout=30.0, headers=API_AUTH) as client:
        runs_url = f"{stack.bulk_sync.url}/api/zoho/sync/runs"
        runs_before = client.get(runs_url, params={"limit": 1000}).json()
        for service in (stack.ingest, stack.processor, stack.bulk_sync, stack.proxy):
            _refusal(client.get(f"{service.url}/api/nowhere"), 404, "unknown_path")
        wrong = client.delete(f"{stack.processor.url}/api/zoho/sync/stats")
        assert _refusal(wrong, 405, "method_not_allowed") and wrong.headers["allow"] == "GET"
        sync = f"{stack.bulk_sync.url}/api/zoho/bulk-sync"
        not_json = client.post(
            sync, content=b'{"mode":', headers={"content-type": "application/json"}
        )
        _refusal(not_json, 400, "malformed_payload")
        invalid = client.post(sync, json={"mode": secret_value, "entities": ["invoices"]})
        body = _refusal(invalid, 422, "invalid_request")
        assert [error["field"] for error in body["errors"]] == ["body.mode"]
        assert secret_value not in invalid.text
        # Neither refusal started a run.
        assert client.get(runs_url, params={"limit": 1000}).json() == runs_before
        through = client.post(
            f"{stack.proxy.url}/zoho/books/contacts",
            content=b"x" * (BODY_LIMIT + 1),
            headers={"Authorization": f"Bearer {BULK_SYNC_PROXY_TOKEN}", "X-TDS-Org": ORG_ID},
        )
        _refusal(through, 413, "payload_too_large")
