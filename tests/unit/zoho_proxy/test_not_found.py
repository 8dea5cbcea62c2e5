"""Only Zoho's "does not exist" (code 1002) is not-found; "Invalid URL" (code 5) is an error,
and a list answer keeps Zoho's page_context exactly as given (absent stays absent)."""

from __future__ import annotations

import pytest

from tds_common.errors import UpstreamRejectedError
from zoho_proxy import routing
from zoho_proxy.errors import NotFoundError

from .test_client import make_client, zoho

INVALID_URL = {"code": 5, "message": "Invalid URL Passed"}


async def test_invalid_url_is_a_rejection_not_a_missing_record() -> None:
    client, _, _, seen = make_client(lambda r: zoho(404, INVALID_URL))
    with pytest.raises(UpstreamRejectedError, match="Invalid URL"):
        await routing.read_record(client, "invoices", "9", org_id="7", lane="webhook")
    assert len(seen) == 1


async def test_invalid_url_on_books_does_not_fall_back_to_inventory() -> None:
    client, _, _, seen = make_client(lambda r: zoho(404, INVALID_URL))
    with pytest.raises(UpstreamRejectedError):
        await routing.read_record(client, "products", "9", org_id="7", lane="webhook")
    assert [r.url.path for r in seen] == ["/books/v3/items/9"]


async def test_does_not_exist_is_not_found() -> None:
    client, _, _, _ = make_client(lambda r: zoho(404, {"code": 1002, "message": "gone"}))
    with pytest.raises(NotFoundError):
        await routing.read_record(client, "invoices", "9", org_id="7", lane="webhook")


async def test_a_list_without_page_context_is_passed_on_as_null() -> None:
    client, _, _, _ = make_client(lambda r: zoho(200, {"code": 0, "contacts": []}))
    page = await routing.read_page(client, "customers", [], org_id="7", lane="bulk")
    assert page.page_context is None


async def test_filter_by_is_a_list_parameter_the_proxy_forwards() -> None:
    assert "filter_by" in routing.LIST_PARAMS
