"""One thin webhook, followed in a real Jaeger: one trace through ingest, the processor and
zoho-proxy, down to the proxy's call to Zoho (the simulator).

Jaeger v2 is the project's own build (``make jaeger``, part of ``make test``'s checks); the
e2e modules' shared stack exports to one on free ports (tests/e2e/conftest.py).
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from devstack import jaeger
from tests.e2e.conftest import ORG_ID, WEBHOOK_SECRET, Stack

TRACE_WAIT_SECONDS = 30.0
# The shared stack (five services and Jaeger) may start within this module's test's time.
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module", name="stack")
def fixture_stack(shared_stack: Stack) -> Stack:
    """The shared stack: it exports its traces to ``jaeger_config``'s Jaeger."""
    return shared_stack


def _spans_by_service(found: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    services = {key: p["serviceName"] for key, p in found["processes"].items()}
    spans: dict[str, list[dict[str, Any]]] = {}
    for span in found["spans"]:
        spans.setdefault(services[span["processID"]], []).append(span)
    return spans


def _tags(span: dict[str, Any]) -> dict[str, Any]:
    return {tag["key"]: tag["value"] for tag in span["tags"]}


def _parent(span: dict[str, Any]) -> str | None:
    refs = [r["spanID"] for r in span["references"] if r["refType"] == "CHILD_OF"]
    return refs[0] if refs else None


def _complete(found: dict[str, Any] | None) -> bool:
    """Whether every span the test reads has reached Jaeger: each service exports in batches of
    its own, so one service's spans can arrive a batch later than another's, and a server span
    (ended once its answer is sent) a batch later than the client spans it contains."""
    if found is None:
        return False
    spans = _spans_by_service(found)
    processor = {s["operationName"] for s in spans.get("processor", [])}
    proxy = spans.get("zoho-proxy", [])
    return (
        any(s["operationName"].startswith("zoho GET") for s in proxy)
        and any(_tags(s).get("span.kind") == "server" for s in proxy)
        and {"process products", "GET zoho-proxy"} <= processor
        and any(_tags(s).get("span.kind") == "server" for s in spans.get("ingest", []))
    )


def test_one_thin_webhook_is_one_trace_from_ingest_to_the_zoho_call(
    stack: Stack, jaeger_config: jaeger.JaegerConfig
) -> None:
    item = httpx.post(f"{stack.sim.url}/_sim/orgs/{ORG_ID}/items", json={}, timeout=30)
    item.raise_for_status()
    record = item.json()["record"]
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    # Thin: the id and version only, so the processor reads the record through zoho-proxy.
    # The token in the URL, as Zoho's workflow webhooks may send it: it must not reach a span.
    # Sent with http.client: httpx would log the URL, token included, in this process.
    ingest = urlsplit(stack.ingest.url)
    connection = http.client.HTTPConnection(ingest.hostname or "", ingest.port, timeout=30)
    body = {
        "item": {"item_id": record["item_id"], "last_modified_time": record["last_modified_time"]}
    }
    connection.request(
        "POST",
        f"/api/zoho/webhooks/products?{urlencode({'token': WEBHOOK_SECRET})}",
        body=json.dumps(body),
        headers={
            "Content-Type": "application/json",
            "traceparent": f"00-{trace_id}-{caller_span}-01",
        },
    )
    accepted = connection.getresponse()
    assert accepted.status == 202, accepted.read()
    connection.close()

    deadline = time.monotonic() + TRACE_WAIT_SECONDS
    found = jaeger.fetch_trace(jaeger_config.ui_url, trace_id)
    while not _complete(found) and time.monotonic() < deadline:
        time.sleep(0.3)
        found = jaeger.fetch_trace(jaeger_config.ui_url, trace_id)
    assert found is not None, "Jaeger has no trace of the webhook"
    assert found["traceID"] == trace_id
    spans = _spans_by_service(found)
    assert {"ingest", "processor", "zoho-proxy"} <= spans.keys(), sorted(spans)
    by_id = {s["spanID"]: s for s in found["spans"]}

    # ingest's server span continues the caller's trace ...
    (webhook,) = [s for s in spans["ingest"] if _tags(s).get("span.kind") == "server"]
    assert webhook["operationName"] == "POST /api/zoho/webhooks/{entity}"
    assert _parent(webhook) == caller_span
    # ... the processor's event span is its child, through the Kafka header ...
    event = next(s for s in spans["processor"] if s["operationName"] == "process products")
    assert _parent(event) == webhook["spanID"]
    assert _tags(event)["tds.zoho_id"] == record["item_id"]
    # ... whose read is a client span calling zoho-proxy ...
    read = next(s for s in spans["processor"] if s["operationName"] == "GET zoho-proxy")
    assert _parent(read) == event["spanID"]
    assert _tags(read)["span.kind"] == "client"
    # ... where the request's server span continues it ...
    served = next(s for s in spans["zoho-proxy"] if _tags(s).get("span.kind") == "server")
    assert served["operationName"].startswith("GET /v1/{entity}/{")
    assert _parent(served) == read["spanID"]
    # ... down to the call to Zoho (the simulator), a client span below it.
    # The stack's database may hold an access token minted by an earlier module's simulator,
    # which this one does not know (401, code 14): the proxy then mints and calls again, so the
    # last call is the one that answered.
    calls = [s for s in spans["zoho-proxy"] if s["operationName"].startswith("zoho GET")]
    assert all(_tags(call)["span.kind"] == "client" for call in calls)
    zoho = max(calls, key=lambda call: int(call["startTime"]))
    assert _tags(zoho)["http.response.status_code"] == 200
    ancestor = _parent(zoho)
    while ancestor is not None and ancestor != served["spanID"]:
        ancestor = _parent(by_id[ancestor])
    assert ancestor == served["spanID"]
    # One server span per request, and no secret anywhere in the trace.
    servers = [s for s in found["spans"] if _tags(s).get("span.kind") == "server"]
    assert len(servers) == 2, [s["operationName"] for s in servers]
    assert WEBHOOK_SECRET not in json.dumps(found)
