"""tds_common.proxy_client: the zoho-proxy contract every caller reads the same way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from tds_common.errors import UpstreamRejectedError
from tds_common.proxy_client import (
    LANE_HEADER,
    MAX_RETRY_AFTER_SECONDS,
    NOT_FOUND,
    ORG_HEADER,
    TIMEOUT_HEADER,
    ProxyCallFailedError,
    ProxyClient,
    ProxyRateLimitedError,
    ProxyRefusedError,
    ProxyUnavailableError,
    RecordAnswer,
    parse_retry_after,
    proxy_http_client,
)
from tds_common.settings import ProxyClientSettings


async def test_sends_the_bearer_token_only_when_configured() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    transport = httpx.MockTransport(handler)
    with_token = ProxyClientSettings(timeout_seconds=7.0, token="proxy-token")
    async with proxy_http_client("http://proxy.test", with_token, transport) as client:
        assert client.timeout == httpx.Timeout(7.0)
        await client.get("/v1/items/1")
    async with proxy_http_client("http://proxy.test", ProxyClientSettings(), transport) as client:
        await client.get("/v1/items/2")
    assert str(seen[0].url) == "http://proxy.test/v1/items/1"
    assert seen[0].headers["Authorization"] == "Bearer proxy-token"
    assert "Authorization" not in seen[1].headers


def test_the_token_stays_secret_in_settings() -> None:
    settings = ProxyClientSettings(token="proxy-token")
    assert "proxy-token" not in repr(settings)


def _proxy(handler: Callable[[httpx.Request], httpx.Response]) -> ProxyClient:
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(handler), base_url="http://proxy.test", timeout=12.0
    )
    return ProxyClient(http)


RECORD = {"entity": "invoices", "source": "books", "organization_id": "7", "record": {"a": 1}}


async def test_a_call_names_org_lane_and_the_callers_own_deadline() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=RECORD)

    answer = await _proxy(handler).get_record("invoices", "7", "42", "bulk")
    assert answer == RecordAnswer.model_validate(RECORD)
    assert seen[0].url.path == "/v1/invoices/42"
    assert seen[0].headers[ORG_HEADER] == "7" and seen[0].headers[LANE_HEADER] == "bulk"
    assert seen[0].headers[TIMEOUT_HEADER] == "11.500"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, ProxyRateLimitedError),
        (503, ProxyUnavailableError),
        (500, ProxyCallFailedError),
        (502, ProxyCallFailedError),
        (401, ProxyRefusedError),
        (403, ProxyRefusedError),
        (404, ProxyCallFailedError),
        (408, ProxyCallFailedError),
        (409, ProxyCallFailedError),
        (425, ProxyCallFailedError),
        (400, UpstreamRejectedError),
        (405, UpstreamRejectedError),
        (422, UpstreamRejectedError),
    ],
)
async def test_one_status_mapping_for_every_caller(status: int, error: type[Exception]) -> None:
    body = {"error_code": "whatever", "message": "no"}
    with pytest.raises(error) as caught:
        await _proxy(lambda r: httpx.Response(status, json=body)).get_record("x", "7", "1", "bulk")
    assert type(caught.value) is error
    # Only a permanent refusal is final; the rest may pass and every caller may try again.
    assert caught.value.retriable is (error is not UpstreamRejectedError)  # type: ignore[attr-defined]


async def test_only_the_not_found_verdict_is_none_and_transport_failures_wait() -> None:
    gone = httpx.Response(404, json={"error_code": NOT_FOUND, "message": "not in Zoho"})
    assert await _proxy(lambda r: gone).get_record("invoices", "7", "1", "bulk") is None

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    with pytest.raises(ProxyUnavailableError, match="ConnectTimeout"):
        await _proxy(refuse).list_page("invoices", "7", "bulk", {})


@pytest.mark.parametrize(
    "body",
    [{"entity": "invoices", "source": "books"}, {**RECORD, "record": ["not", "an", "object"]}],
)
async def test_an_answer_off_the_contract_is_a_failed_call_naming_fields_not_values(
    body: dict[str, object],
) -> None:
    with pytest.raises(ProxyCallFailedError, match="off the contract") as caught:
        await _proxy(lambda r: httpx.Response(200, json=body)).get_record("x", "7", "1", "bulk")
    message = str(caught.value)
    assert "record" in message and "'an'" not in message


NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("4", 4.0),
        (" 12 ", 12.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("99999", MAX_RETRY_AFTER_SECONDS),
        ("Fri, 02 Jan 2026 03:04:35 GMT", 30.0),
        ("Friday, 02-Jan-26 03:04:15 GMT", 10.0),
        ("Fri Jan  2 03:05:05 2026", 60.0),
        ("Fri, 02 Jan 2026 03:00:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_retry_after_is_read_in_both_of_its_forms(
    header: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


async def test_a_429_carries_its_retry_after() -> None:
    answer = httpx.Response(429, headers={"Retry-After": "7"}, json={"error_code": "budget"})
    with pytest.raises(ProxyRateLimitedError) as caught:
        await _proxy(lambda r: answer).get_json("/v1/x", "7", "webhook")
    assert caught.value.retry_after_seconds == 7.0


BUDGET = {
    "budgets": [
        {
            "organization_id": "7",
            "product": "books",
            "window_seconds": 60.0,
            "minute": {"limit": 100, "used": 4, "left": 96},
            "day": {
                "limit": 5000,
                "used": 1000,
                "left": 4000,
                "reserve": 200,
                "resets_in_seconds": 3600.0,
            },
            "in_flight": {"limit": 10, "used": 0, "left": 10},
            "waiting": {"webhook": 0, "write": 0, "incremental": 0, "bulk": 1},
            "lanes_holding_back_lower": [],
        }
    ],
    "lane_waits": {"bulk": {"granted": 3, "mean_wait_seconds": 0.1}},
    "token": {"state": "ok", "last_error": None},
}


async def test_the_budget_is_read_by_its_model_and_off_the_model_is_a_failed_call() -> None:
    answer = await _proxy(lambda r: httpx.Response(200, json=BUDGET)).budget()
    assert answer.budgets[0].day.left == 4000 and answer.budgets[0].day.reserve == 200
    broken = {**BUDGET, "budgets": [{"organization_id": "7"}]}
    with pytest.raises(ProxyCallFailedError, match="off the contract"):
        await _proxy(lambda r: httpx.Response(200, json=broken)).budget()


@pytest.mark.parametrize(("status", "code"), [(401, "unauthenticated"), (403, None)])
async def test_a_refusal_of_the_caller_says_its_status_and_code(
    status: int, code: str | None
) -> None:
    """Still a failed call for callers that do not tell refusals apart (the processor)."""
    body = {"error_code": code, "message": "no"} if code else {"detail": "no"}
    with pytest.raises(ProxyRefusedError) as caught:
        await _proxy(lambda r: httpx.Response(status, json=body)).get_record("x", "7", "1", "bulk")
    assert isinstance(caught.value, ProxyCallFailedError)
    assert caught.value.status_code == status and caught.value.code == code
