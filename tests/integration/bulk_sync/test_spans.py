"""A sync run's traces: the run links to the request that asked for it, each page is a trace of
its own linked to the run, and the page's calls to zoho-proxy continue into the proxy."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from tests.utils.tracing import recorded_spans

from .conftest import MakeBulk
from .writeback import fast_relay, outcomes, submit, write


def _attribute(span: ReadableSpan, key: str) -> object:
    return (span.attributes or {}).get(key)


async def test_a_run_links_to_its_request_and_each_page_is_a_trace_linked_to_the_run(
    monkeypatch: pytest.MonkeyPatch, make_bulk: MakeBulk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bulk_sync")
    spans = recorded_spans(monkeypatch)
    async with make_bulk(per_page=100) as bulk:
        (run,) = await bulk.sync(mode="full", entities=["products"])
    assert run["status"] == "completed"
    finished = spans.get_finished_spans()
    (request,) = [s for s in finished if s.name == "POST /api/zoho/bulk-sync"]
    (run_span,) = [s for s in finished if s.name == "sync run"]
    assert _attribute(run_span, "tds.run_id") == run["id"]
    assert _attribute(run_span, "tds.sync.outcome") == "completed"
    assert run_span.parent is None
    assert [link.context.span_id for link in run_span.links] == [request.context.span_id]

    pages = [s for s in finished if s.name == "sync page products"]
    assert len(pages) >= 3  # 300 products, 100 a page
    for page in pages:
        assert page.parent is None and page.context.trace_id != run_span.context.trace_id
        assert [link.context.span_id for link in page.links] == [run_span.context.span_id]
        assert _attribute(page, "tds.run_id") == run["id"]
    # Each page's list call is a client span in the page's trace, continued by zoho-proxy.
    page_ids = {page.context.span_id for page in pages}
    calls = [
        s
        for s in finished
        if s.kind == SpanKind.CLIENT and s.parent is not None and s.parent.span_id in page_ids
    ]
    assert {call.parent.span_id for call in calls if call.parent} == page_ids
    served = {
        s.parent.span_id
        for s in finished
        if s.kind == SpanKind.SERVER and s.name == "GET /v1/{entity}" and s.parent is not None
    }
    assert {call.context.span_id for call in calls} <= served
    # The run's log lines carry its id as a field, not inside the text.
    (completed,) = [r for r in caplog.records if r.getMessage() == "run completed"]
    assert vars(completed)["run_id"] == run["id"]
    assert vars(completed)["entities"] == ["products"]


async def test_each_write_back_attempt_is_a_trace_holding_its_calls_to_zoho_proxy(
    monkeypatch: pytest.MonkeyPatch, make_bulk: MakeBulk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bulk_sync")
    spans = recorded_spans(monkeypatch)
    fast_relay(monkeypatch)
    async with make_bulk() as bulk:
        customer = write(
            "customers",
            "create",
            "erp-traced-1",
            {"contact_name": "Traced Customer", "contact_type": "customer"},
        )
        (row,) = await outcomes(bulk.api, await submit(bulk.api, customer))
    assert row["status"] == "applied"
    finished = spans.get_finished_spans()
    (attempt,) = [s for s in finished if s.name == "write-back create customers"]
    assert attempt.parent is None and attempt.kind == SpanKind.PRODUCER
    assert _attribute(attempt, "tds.write_id") == row["id"]
    assert _attribute(attempt, "tds.write.result") == "applied"
    calls = [
        s
        for s in finished
        if s.kind == SpanKind.CLIENT
        and s.parent is not None
        and s.parent.span_id == attempt.context.span_id
    ]
    assert [call.name for call in calls] == ["POST zoho-proxy"]
    (ended,) = [r for r in caplog.records if r.getMessage() == "write ended"]
    assert (vars(ended)["write_id"], vars(ended)["status"]) == (row["id"], "applied")
