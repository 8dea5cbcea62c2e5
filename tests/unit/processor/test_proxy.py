"""zoho-proxy reads: records, deletes, and which failures wait, count or dead-letter."""

from __future__ import annotations

import httpx
import pytest

from processor.errors import ProxyRecordError, ProxyWaitError, RecordFailedError
from processor.proxy import RecordFetcher
from tds_common.errors import TransientError, UpstreamRateLimitedError, UpstreamRejectedError
from tds_common.proxy_client import ProxyClient

RECORD = {
    "entity": "stock",
    "source": "inventory",
    "organization_id": "7",
    "record": {"item_id": "1"},
}


def _fetcher(handler: httpx.MockTransport, timeout_seconds: float = 10.0) -> RecordFetcher:
    http = httpx.AsyncClient(
        transport=handler, base_url="http://proxy.test", timeout=timeout_seconds
    )
    return RecordFetcher(ProxyClient(http))


async def test_a_record_is_read_on_the_webhook_lane_within_our_own_timeout() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=RECORD)

    record = await _fetcher(httpx.MockTransport(handler), timeout_seconds=20).fetch(
        "stock", "7", "1"
    )
    assert record == {"item_id": "1"}
    assert seen[0].url.path == "/v1/stock/1"
    assert seen[0].headers["X-TDS-Org"] == "7" and seen[0].headers["X-TDS-Lane"] == "webhook"
    # The proxy is told to answer before we give up (our timeout minus a little slack).
    assert float(seen[0].headers["X-TDS-Timeout-Seconds"]) == 19.5


async def test_404_not_found_means_the_record_is_gone() -> None:
    answer = httpx.Response(404, json={"error_code": "not_found", "message": "no source has it"})
    fetcher = _fetcher(httpx.MockTransport(lambda r: answer))
    assert await fetcher.fetch("products", "7", "1") is None


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404),
        httpx.Response(404, json={"error_code": "bad_route"}),
        httpx.Response(404, text="<html>Not Found</html>"),
    ],
)
async def test_a_404_that_is_not_a_verdict_on_the_record_never_deletes(
    answer: httpx.Response,
) -> None:
    """A misrouted call (an ingress, an old proxy) must not turn into a deletion in the mirror."""
    fetcher = _fetcher(httpx.MockTransport(lambda r: answer))
    with pytest.raises(ProxyRecordError):
        await fetcher.fetch("products", "7", "1")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, UpstreamRateLimitedError),
        (503, ProxyWaitError),
        (500, ProxyRecordError),
        (502, ProxyRecordError),
        (401, ProxyWaitError),
        (403, ProxyRecordError),
        (409, ProxyRecordError),
        (425, ProxyRecordError),
        (400, UpstreamRejectedError),
        (422, UpstreamRejectedError),
    ],
)
async def test_statuses_map_to_waiting_counted_or_permanent_errors(
    status: int, error: type
) -> None:
    fetcher = _fetcher(
        httpx.MockTransport(lambda r: httpx.Response(status, headers={"Retry-After": "4"}))
    )
    with pytest.raises(error) as caught:
        await fetcher.fetch("products", "7", "1")
    if status == 429:
        assert getattr(caught.value, "retry_after_seconds", None) == 4.0
    # Waiting (429, 503) never counts an attempt; a failure about this record does.
    assert isinstance(caught.value, RecordFailedError) is (error is ProxyRecordError)
    assert isinstance(caught.value, TransientError) is (error is not UpstreamRejectedError)


async def test_an_unreachable_proxy_waits_and_a_body_without_a_record_counts() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProxyWaitError, match="unreachable"):
        await _fetcher(httpx.MockTransport(refuse)).fetch("products", "7", "1")
    no_record = httpx.MockTransport(lambda r: httpx.Response(200, json={"entity": "products"}))
    with pytest.raises(ProxyRecordError, match="off the contract"):
        await _fetcher(no_record).fetch("products", "7", "1")


async def test_our_own_token_refused_waits_instead_of_dead_lettering_every_event() -> None:
    """A 401 is zoho-proxy refusing the processor's service token: every record would fail the
    same way until someone fixes the Secret, so no event may be counted toward the dead-letter
    topic for it; a 403 (a Zoho scope or an org this token may not read) stays about this record."""
    refused = httpx.Response(401, json={"error_code": "unauthorized", "message": "bad token"})
    with pytest.raises(ProxyWaitError, match="401") as caught:
        await _fetcher(httpx.MockTransport(lambda r: refused)).fetch("products", "7", "1")
    assert not isinstance(caught.value, RecordFailedError)
    scope = httpx.Response(403, json={"error_code": "scope_missing", "message": "no scope"})
    with pytest.raises(ProxyRecordError, match="scope_missing"):
        await _fetcher(httpx.MockTransport(lambda r: scope)).fetch("products", "7", "1")
