"""The request-metrics middleware: status and route labels, exceptions, streaming, /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from starlette.types import Message

from tds_common.metrics import create_http_metrics, instrument, route_template

PREFIX = "tds_unittest_mw"
METRICS = create_http_metrics(PREFIX)
RAW_ID = "4600000098765"


def _count(method: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        f"{PREFIX}_http_requests_total",
        {"method": method, "route": route, "status_code": status},
    )
    return value or 0.0


def _observations(method: str, route: str) -> float:
    value = REGISTRY.get_sample_value(
        f"{PREFIX}_http_request_duration_seconds_count", {"method": method, "route": route}
    )
    return value or 0.0


class Boom(RuntimeError):
    pass


def _app() -> FastAPI:
    app = FastAPI()
    instrument(app, METRICS)

    @app.get("/orgs/{org_id}/items/{item_id}")
    async def item(org_id: str, item_id: str) -> dict[str, str]:
        return {"item_id": item_id}

    @app.post("/created/{thing}", status_code=201)
    async def created(thing: str) -> dict[str, str]:
        return {"thing": thing}

    @app.get("/missing/{thing}")
    async def missing(thing: str) -> None:
        raise HTTPException(status_code=404, detail="no such thing")

    @app.get("/unavailable/{thing}")
    async def unavailable(thing: str) -> PlainTextResponse:
        return PlainTextResponse("later", status_code=503)

    @app.get("/boom/{thing}")
    async def boom(thing: str) -> None:
        raise Boom("unhandled")

    return app


def test_status_labels_for_2xx_4xx_5xx_and_route_templates() -> None:
    cases = [
        ("GET", f"/orgs/1/items/{RAW_ID}", "/orgs/{org_id}/items/{item_id}", "200"),
        ("POST", f"/created/{RAW_ID}", "/created/{thing}", "201"),
        ("GET", f"/missing/{RAW_ID}", "/missing/{thing}", "404"),
        ("GET", f"/unavailable/{RAW_ID}", "/unavailable/{thing}", "503"),
    ]
    before = {case: _count(case[0], case[2], case[3]) for case in cases}
    observed = {case: _observations(case[0], case[2]) for case in cases}
    with TestClient(_app()) as client:
        for method, path, _, status in cases:
            assert client.request(method, path).status_code == int(status)
    for case in cases:
        method, _, route, status = case
        assert _count(method, route, status) == before[case] + 1, case
        assert _observations(method, route) == observed[case] + 1, case


def test_unhandled_exception_counts_as_500() -> None:
    route = "/boom/{thing}"
    before = _count("GET", route, "500")
    with TestClient(_app(), raise_server_exceptions=False) as client:
        assert client.get(f"/boom/{RAW_ID}").status_code == 500
    assert _count("GET", route, "500") == before + 1


def test_exception_propagates_through_the_middleware() -> None:
    with TestClient(_app()) as client, pytest.raises(Boom):
        client.get("/boom/x")


def test_unknown_paths_are_unmatched_and_raw_ids_never_appear() -> None:
    before = _count("GET", "unmatched", "404")
    with TestClient(_app()) as client:
        assert client.get(f"/nope/{RAW_ID}").status_code == 404
        client.get(f"/orgs/2/items/{RAW_ID}")
        body = client.get("/metrics").text
    assert _count("GET", "unmatched", "404") == before + 1
    assert RAW_ID not in body
    assert "/nope" not in body
    assert 'route="/orgs/{org_id}/items/{item_id}"' in body


def test_wrong_method_is_labelled_with_the_template_not_the_path() -> None:
    route = "/orgs/{org_id}/items/{item_id}"
    before = _count("DELETE", route, "405")
    with TestClient(_app()) as client:
        assert client.delete(f"/orgs/1/items/{RAW_ID}").status_code == 405
    assert _count("DELETE", route, "405") == before + 1


def test_nonstandard_methods_fold_into_one_label() -> None:
    before = _count("other", "unmatched", "404")
    with TestClient(_app()) as client:
        client.request("BREW", "/coffee")
        client.request("PROPFIND", "/coffee")
        body = client.get("/metrics").text
    assert _count("other", "unmatched", "404") == before + 2
    assert "BREW" not in body and "PROPFIND" not in body


def test_metrics_endpoint_is_served_and_not_counted() -> None:
    with TestClient(_app()) as client:
        first = client.get("/metrics")
        second = client.get("/metrics")
    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")
    assert f"{PREFIX}_http_requests_total" in second.text
    assert 'route="/metrics"' not in second.text


def test_route_template_fallback_matches_templates_only() -> None:
    app = _app()

    def scope(path: str, method: str = "GET") -> dict[str, object]:
        return {"type": "http", "method": method, "path": path, "root_path": ""}

    assert route_template(app.router, scope(f"/missing/{RAW_ID}")) == "/missing/{thing}"
    assert route_template(app.router, scope(f"/orgs/1/items/{RAW_ID}")) == (
        "/orgs/{org_id}/items/{item_id}"
    )
    assert route_template(app.router, scope(f"/elsewhere/{RAW_ID}")) == "unmatched"
    assert route_template(app.router, scope("/missing/x", method="POST")) == "unmatched"


def _streaming_app(chunks: list[bytes], sent: list[bytes], fail_after: int | None) -> FastAPI:
    app = FastAPI()
    instrument(app, METRICS)

    @app.get("/stream/{name}")
    async def stream(name: str) -> StreamingResponse:
        async def produce() -> AsyncIterator[bytes]:
            for n, chunk in enumerate(chunks):
                if fail_after is not None and n == fail_after:
                    raise Boom("stream broke")
                # Each earlier chunk already reached the server's send: nothing is buffered.
                assert sent == chunks[:n]
                yield chunk

        return StreamingResponse(produce(), media_type="application/octet-stream")

    return app


async def _call(app: FastAPI, path: str, sent: list[bytes]) -> list[Message]:
    """Drive ``app`` as a server would, recording every message it sends."""
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            sent.append(message["body"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return messages


async def test_streaming_response_passes_through_chunk_by_chunk() -> None:
    chunks = [b"first-", b"second-" * 100, b"third"]
    sent: list[bytes] = []
    before = _count("GET", "/stream/{name}", "200")
    messages = await _call(_streaming_app(chunks, sent, None), f"/stream/{RAW_ID}", sent)
    assert messages[0]["type"] == "http.response.start" and messages[0]["status"] == 200
    assert sent == chunks
    assert messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert _count("GET", "/stream/{name}", "200") == before + 1


async def test_stream_failing_midway_counts_as_500() -> None:
    chunks = [b"first-", b"never"]
    sent: list[bytes] = []
    before_ok = _count("GET", "/stream/{name}", "200")
    before_err = _count("GET", "/stream/{name}", "500")
    with pytest.raises(Boom):
        await _call(_streaming_app(chunks, sent, 1), "/stream/x", sent)
    assert sent == [b"first-"]
    assert _count("GET", "/stream/{name}", "500") == before_err + 1
    assert _count("GET", "/stream/{name}", "200") == before_ok
